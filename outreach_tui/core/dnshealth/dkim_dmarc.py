"""DKIM keys (``<selector>._domainkey.<domain>``) and the DMARC policy (``_dmarc.<domain>``):
both are tag lists, read by `parse_tags`."""

from __future__ import annotations

import base64
import binascii
import re

from outreach_tui.core.dnshealth.answers import Answer, AnswerStatus, CheckResult, CheckStatus, norm


def parse_tags(record: str) -> tuple[dict[str, str], list[str]]:
    """``"v=DKIM1; k=rsa; p=MIGf..."`` → tags (names lower-cased) and problems."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in record.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            problems.append(f"{part!r} is not tag=value")
            continue
        if name in tags:
            problems.append(f"tag {name} appears twice")
        tags[name] = value.strip()
    return tags, problems


# ---------------------------------------------------------------- DKIM


def dkim_name(selector: str, domain: str) -> str:
    return f"{norm(selector)}._domainkey.{norm(domain)}"


def evaluate_dkim(selector: str, answer: Answer) -> CheckResult:
    """``<selector>._domainkey.<domain>``: v=DKIM1 and a non-empty base64 p= key."""
    name = f"dkim:{selector}"
    if answer.status is AnswerStatus.ERROR:
        return CheckResult(
            name,
            CheckStatus.UNKNOWN,
            f"lookup failed: {answer.detail}",
            facts={"selector": selector},
        )
    records = [r for r in answer.values if "p=" in r.replace(" ", "") or "v=dkim1" in r.lower()]
    if answer.absent or not records:
        return CheckResult(
            name,
            CheckStatus.MISSING,
            "no DKIM key",
            problems=(f"selector {selector}: no key",),
            facts={"selector": selector},
        )
    if len(records) > 1:
        return CheckResult(
            name,
            CheckStatus.FAIL,
            f"{len(records)} keys",
            problems=(f"selector {selector}: {len(records)} key records (one expected)",),
            facts={"selector": selector},
        )
    tags, problems = parse_tags(records[0])
    warnings: list[str] = []
    version = tags.get("v")
    if version is None:
        warnings.append("no v=DKIM1 tag")
    elif version != "DKIM1":
        problems.append(f"v={version} (expected DKIM1)")
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        problems.append(f"unknown key type k={key_type}")
    if "p" not in tags:
        problems.append("no p= key")
    else:
        key = re.sub(r"\s+", "", tags["p"])
        if not key:
            problems.append("empty p= (the key was revoked)")
        else:
            try:
                base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                problems.append("p= is not valid base64")
    facts = {"selector": selector, "key_type": key_type}
    if problems:
        return CheckResult(name, CheckStatus.FAIL, "; ".join(problems), tuple(problems), (), facts)
    status = CheckStatus.WARNING if warnings else CheckStatus.OK
    return CheckResult(name, status, f"{key_type} key", (), tuple(warnings), facts)


# ---------------------------------------------------------------- DMARC

_POLICIES = ("none", "quarantine", "reject")


def evaluate_dmarc(domain: str, answer: Answer) -> CheckResult:
    """``_dmarc.<domain>``: one record, a policy, alignment modes, aggregate reports."""
    if answer.status is AnswerStatus.ERROR:
        return CheckResult("dmarc", CheckStatus.UNKNOWN, f"lookup failed: {answer.detail}")
    records = [r for r in answer.values if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if answer.absent or not records:
        return CheckResult(
            "dmarc",
            CheckStatus.MISSING,
            "no DMARC record",
            problems=(f"_dmarc.{norm(domain)} has no DMARC record",),
        )
    if len(records) > 1:
        return CheckResult(
            "dmarc",
            CheckStatus.FAIL,
            f"{len(records)} DMARC records",
            problems=(f"{len(records)} DMARC records: receivers ignore DMARC altogether",),
        )
    tags, problems = parse_tags(records[0])
    warnings: list[str] = []
    if tags.get("v") != "DMARC1":
        problems.append("the first tag must be v=DMARC1")
    policy = tags.get("p", "").lower() or None
    if policy is None:
        problems.append("no p= policy")
    elif policy not in _POLICIES:
        problems.append(f"p={policy} is not none, quarantine or reject")
    sub = tags.get("sp")
    if sub is not None and sub.lower() not in _POLICIES:
        problems.append(f"sp={sub} is not none, quarantine or reject")
    alignment = {}
    for tag in ("adkim", "aspf"):
        mode = tags.get(tag, "r").lower()
        if mode not in ("r", "s"):
            problems.append(f"{tag}={mode} is not r or s")
        alignment[tag] = "strict" if mode == "s" else "relaxed"
    pct = tags.get("pct", "100")
    if not pct.isdigit() or not 0 <= int(pct) <= 100:
        problems.append(f"pct={pct} is not 0-100")
    elif int(pct) < 100:
        warnings.append(f"pct={pct}: the policy applies to part of the mail only")
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    bad_rua = [u for u in rua if not u.lower().startswith(("mailto:", "https:"))]
    if bad_rua:
        problems.append(f"rua: {', '.join(bad_rua)} is not a mailto: or https: URI")
    if not rua:
        warnings.append("no rua=: nobody receives the aggregate reports")
    if policy == "none":
        warnings.append("p=none: receivers take no action on failing mail (monitoring only)")
    facts = {"record": records[0], "policy": policy, **alignment, "rua": rua, "pct": pct}
    if problems:
        return CheckResult(
            "dmarc", CheckStatus.FAIL, "; ".join(problems), tuple(problems), tuple(warnings), facts
        )
    status = CheckStatus.WARNING if warnings else CheckStatus.OK
    summary = f"p={policy}, adkim={alignment['adkim']}, aspf={alignment['aspf']}"
    return CheckResult("dmarc", status, summary, (), tuple(warnings), facts)
