"""The bounce world: our MTAs send to every scenario's recipient, and what comes back is kept.

Pieces, all private to one temporary root and one network namespace:

- a network namespace ``outreach-bounces-<pid>`` with only ``lo`` (tests/servers/netns.py);
- inside it, tests/servers/remote_mx.py: the DNS on 127.0.0.1:53 and the scripted receivers on
  port 25 of 127.0.0.10-16;
- inside it, the *receiving* Postfix on 127.0.0.3 and 127.0.0.4 (restrictions, virtual mailboxes);
- inside it, the *sending* Postfix (``mta.outreach.test``, on 127.0.0.1): short retry times, a
  queue lifetime of seconds and an early delay warning, so expiry and delay notices come within
  a test run;
- inside it, Exim (tests/servers/bounce_exim.py), sending the scenarios it can play from
  ``eve@outreach.test``;
- outside it, Dovecot (tests/servers/dovecot_lmtp.py): the recipients of ``dovecot.test`` and our
  own mailboxes ``sam@`` and ``eve@outreach.test``. The MTAs reach it through its LMTP UNIX
  socket (a file, so the namespace boundary does not matter), and every report they write to
  us lands there, read back over IMAPS at the end.

``python -m tests.servers.bounce_world tests/data/bounces`` regenerates the frozen copies
(postfix/ and exim/) the unit tests and bench/bounces.py use (root, after
tools/ensure_test_servers.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.servers.bounce_exim import (
    EXIM_MARKER,
    EXIM_MESSAGE_ID,
    EXIM_SCENARIOS,
    EXIM_SENDER,
    exim_expired,
    exim_kind,
    start_exim,
)
from tests.servers.bounce_postfix import QUEUE_LIFETIME, receiving_postfix, sending_postfix
from tests.servers.bounce_scenarios import (
    MESSAGE_ID,
    REMOTE_POSTFIX_IP,
    REMOTE_POSTFIX_SMALL_IP,
    SCENARIOS,
    SENDER,
    SPAM_PHRASE,
    Scenario,
    dns_records,
    scripted_hosts,
)
from tests.servers.dovecot import DovecotUser
from tests.servers.dovecot_lmtp import LmtpDovecot
from tests.servers.exim import EximInstance
from tests.servers.netns import exec_prefix, network_namespace
from tests.servers.pki import TestPKI, make_pki
from tests.servers.postfix import PostfixInstance

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Report:
    """One message an MTA wrote back to us, with the scenario its Message-ID marker names."""

    scenario: Scenario
    kind: str
    """failed, delayed or delivered: from the MTA's own subject line, not from our parser."""
    raw: bytes
    mta: str = "postfix"
    expired: bool = False
    """Returned because retries ran out (Postfix: the scenario's queue lifetime ran out;
    Exim: its own words)."""


@dataclass
class BounceWorld:
    root: Path
    pki: TestPKI
    reports: list[Report] = field(default_factory=list)

    def by_scenario(self, mta: str = "postfix") -> dict[str, list[Report]]:
        out: dict[str, list[Report]] = {}
        for report in self.reports:
            if report.mta == mta:
                out.setdefault(report.scenario.name, []).append(report)
        return out


def _message(
    scenario: Scenario, sent: float, sender: str = SENDER, message_id: str = MESSAGE_ID
) -> bytes:
    body = "Hi,\r\n\r\nA short question about your onboarding process.\r\n\r\nSam\r\n"
    if scenario.spam:
        body = f"{SPAM_PHRASE}! Reply now.\r\n" + body
    if scenario.big:
        body += "".join(f"Line {n} of an attachment-sized appendix.\r\n" for n in range(120))
    head = (
        f"From: Sam Sender <{sender}>\r\n"
        f"To: <{scenario.recipient}>\r\n"
        f"Subject: Quick question ({scenario.name})\r\n"
        f"Date: {format_datetime(datetime.fromtimestamp(sent, UTC))}\r\n"
        f"Message-ID: {message_id.format(name=scenario.name)}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
    )
    return (head + "\r\n" + body).encode()


def _expected_reports(scenario: Scenario) -> int:
    return int(scenario.delay_notice) + int(scenario.final)


_KIND_BY_SUBJECT = (
    ("delayed", re.compile(r"^Subject: Delayed Mail", re.MULTILINE)),
    ("delivered", re.compile(r"^Subject: Successful Mail Delivery", re.MULTILINE)),
    ("failed", re.compile(r"^Subject: Undelivered Mail Returned", re.MULTILINE)),
)


def _kind_of(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    head = text.split("\n\n", 1)[0]
    for kind, pattern in _KIND_BY_SUBJECT:
        if pattern.search(head):
            return kind
    return "unknown"


def _fetch_all(dovecot: LmtpDovecot, user: DovecotUser) -> list[bytes]:
    conn = dovecot.client(user)
    try:
        conn.select("INBOX", readonly=True)
        _, data = conn.uid("SEARCH", "ALL")
        out: list[bytes] = []
        for uid in data[0].split():
            _, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            for part in parts:
                if isinstance(part, tuple):
                    out.append(part[1])
        return out
    finally:
        conn.logout()


def _start_remote(netns: str, root: Path) -> subprocess.Popen[bytes]:
    records, servfail = dns_records()
    world = {
        "dns": {"records": records, "servfail": servfail},
        "hosts": scripted_hosts("127.0.0.1"),
    }
    world_file, ready = root / "world.json", root / "remote.ready"
    world_file.write_text(json.dumps(world, indent=1))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with (root / "remote_mx.log").open("wb") as log:
        process = subprocess.Popen(
            [*exec_prefix(netns), sys.executable, "-m", "tests.servers.remote_mx",
             str(world_file), str(ready)],
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 20
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                "the remote MX world did not start:\n"
                + (root / "remote_mx.log").read_text(errors="replace")[-3000:],
                pytrace=False,
            )
        time.sleep(0.05)
    return process


@dataclass
class BounceServers:
    """The running servers of the bounce world, before anything is sent."""

    root: Path
    netns: str
    dovecot: LmtpDovecot
    me: DovecotUser
    """``sam@outreach.test``: where every report about the sending Postfix's mail lands."""
    eve: DovecotUser
    sender: PostfixInstance
    """Our MTA (``mta.outreach.test``): submit with ``sender.submit(raw, SENDER, [to])``."""
    receiver: PostfixInstance
    exim: EximInstance | None


@contextmanager
def bounce_servers(
    pki: TestPKI, root: Path | None = None, *, with_exim: bool = True, name: str = "bounces"
) -> Iterator[BounceServers]:
    """Start the bounce world's servers (see the module docstring); nothing is sent yet.

    `root` must be reachable by the ``postfix`` and ``dovecot`` users (pytest's own temporary
    directories are not); by default a fresh directory under the system's temporary directory,
    removed afterwards. `name` keeps two worlds of one process apart (their namespaces).
    """
    made = root is None
    root = root or Path(tempfile.mkdtemp(prefix=f"outreach-{name}-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    with ExitStack() as stack:
        if made:
            stack.callback(shutil.rmtree, root, True)
        netns = stack.enter_context(network_namespace(f"outreach-{name}-{os.getpid()}"))
        dovecot = LmtpDovecot(pki, pool=1)
        stack.callback(dovecot.cleanup)
        me = dovecot.add_user(SENDER)
        eve = dovecot.add_user(EXIM_SENDER)
        for user in ("ok@dovecot.test",):
            dovecot.add_user(user)
        dovecot.add_quota_user("full@dovecot.test", "1B")
        dovecot.start()

        # Postfix listens only on addresses an interface holds; the rest of 127/8 needs none.
        for address in (REMOTE_POSTFIX_IP, REMOTE_POSTFIX_SMALL_IP):
            subprocess.run(["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "lo"],
                           check=True)  # fmt: skip
        remote = _start_remote(netns, root)
        stack.callback(_stop_process, remote)
        receiver = receiving_postfix(root, netns, dovecot.lmtp_socket)
        stack.callback(receiver.stop)
        receiver.start()
        sender = sending_postfix(root, netns, dovecot.lmtp_socket)
        stack.callback(sender.stop)
        sender.start()

        exim = start_exim(root, netns, dovecot.lmtp_socket) if with_exim else None
        if exim is not None:
            stack.callback(exim.stop)
        yield BounceServers(root, netns, dovecot, me, eve, sender, receiver, exim)


@contextmanager
def bounce_world(
    pki: TestPKI, root: Path | None = None, *, with_exim: bool = True
) -> Iterator[BounceWorld]:
    """Run every scenario through real Postfix (and Exim); yield the reports written back to us.

    `root`: as `bounce_servers`.
    """
    with bounce_servers(pki, root, with_exim=with_exim) as servers:
        root, dovecot, me, eve = servers.root, servers.dovecot, servers.me, servers.eve
        sender, receiver, exim = servers.sender, servers.receiver, servers.exim
        now = time.time()
        for scenario in EXIM_SCENARIOS if exim is not None else ():
            raw = _message(scenario, now, EXIM_SENDER, EXIM_MESSAGE_ID)
            exim.submit(raw, EXIM_SENDER, [scenario.recipient])  # type: ignore[union-attr]
        for scenario in SCENARIOS:
            sender.submit(
                _message(scenario, now),
                SENDER,
                [scenario.recipient],
                notify=scenario.notify,
                ret=scenario.ret,
                envid=f"bw-{scenario.name}",
            )
        expected = sum(_expected_reports(s) for s in SCENARIOS)
        deadline = time.monotonic() + QUEUE_LIFETIME * 6 + 30
        raws: list[bytes] = []
        while time.monotonic() < deadline:
            exim_busy = exim is not None and exim.queued() > 0
            if dovecot.message_count(me) >= expected and not sender.queue_ids() and not exim_busy:
                break
            time.sleep(0.5)
        sender.wait_until_empty(30)
        receiver.wait_until_empty(30)
        if exim is not None:
            # The receiving Postfix bounces some of Exim's messages after accepting them.
            _wait_for_count(dovecot, eve, len(EXIM_SCENARIOS), deadline)
        raws = _fetch_all(dovecot, me)
        world = BounceWorld(root, pki)
        if exim is not None:
            world.reports.extend(_exim_reports(_fetch_all(dovecot, eve), exim.log_tail(60)))
        names = {s.name: s for s in SCENARIOS}
        for raw in raws:
            found = re.search(rb"bw-([a-z0-9-]+)@outreach\.test", raw)
            if found is None or found.group(1).decode() not in names:
                pytest.fail(f"a report names no scenario:\n{raw[:2000]!r}", pytrace=False)
            scenario = names[found.group(1).decode()]
            kind = _kind_of(raw)
            expired = kind == "failed" and scenario.expired
            world.reports.append(Report(scenario, kind, raw, "postfix", expired))
        missing = [
            s.name
            for s in SCENARIOS
            if len(world.by_scenario().get(s.name, [])) != _expected_reports(s)
        ]
        if missing:
            got = {n: [r.kind for r in rs] for n, rs in world.by_scenario().items()}
            pytest.fail(
                f"reports missing or extra for {missing}: got {got}\n{sender.log_tail(60)}",
                pytrace=False,
            )
        yield world


def _wait_for_count(dovecot: LmtpDovecot, user: DovecotUser, count: int, deadline: float) -> None:
    while dovecot.message_count(user) < count and time.monotonic() < deadline + 30:
        time.sleep(0.5)


def _exim_reports(raws: list[bytes], log: str) -> list[Report]:
    names = {s.name: s for s in EXIM_SCENARIOS}
    reports: list[Report] = []
    for raw in raws:
        found = EXIM_MARKER.search(raw)
        if found is None or found.group(1).decode() not in names:
            pytest.fail(f"an Exim report names no scenario:\n{raw[:2000]!r}", pytrace=False)
        # The receiving Postfix bounces two scenarios after accepting them: its own report.
        kind = exim_kind(raw) if exim_kind(raw) != "unknown" else _kind_of(raw)
        reports.append(Report(names[found.group(1).decode()], kind, raw, "exim", exim_expired(raw)))
    failed = {r.scenario.name for r in reports if r.kind == "failed"}
    missing = [s.name for s in EXIM_SCENARIOS if s.name not in failed]
    if missing:
        pytest.fail(f"Exim returned no failure for {missing}\n{log}", pytrace=False)
    return reports


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_FROZEN_HEADER = {
    "postfix": "Postfix 3.7 (Debian)",
    "exim": "Exim 4.96 (Debian's exim4-daemon-light, unpacked)",
}


def freeze(world: BounceWorld, target: Path, mta: str = "postfix") -> None:
    """Write `mta`'s reports as .eml files plus manifest.toml under ``target`` (replacing both)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    lines = [
        "# Written by `python -m tests.servers.bounce_world tests/data/bounces`: reports",
        f"# {_FROZEN_HEADER[mta]} wrote about the scenarios of tests/servers/bounce_scenarios.py,",
        "# delivered over LMTP into Dovecot and read back over IMAP. Do not edit by hand.",
        "",
    ]
    marker = MESSAGE_ID if mta == "postfix" else EXIM_MESSAGE_ID
    reports = [r for r in world.reports if r.mta == mta]
    seen: set[str] = set()
    for report in sorted(reports, key=lambda r: (r.scenario.name, r.kind)):
        scenario = report.scenario
        name = f"{scenario.name}.{report.kind}.eml"
        number = 2
        while name in seen:
            name = f"{scenario.name}.{report.kind}-{number}.eml"
            number += 1
        seen.add(name)
        (target / name).write_bytes(report.raw)
        klass = scenario.klass
        if report.kind == "delayed":
            klass = "policy" if scenario.klass == "policy" else "soft"
        lines += [
            "[[message]]",
            f'file = "{name}"',
            f'class = "{klass}"',
            f'recipient = "{scenario.report_recipient or scenario.recipient}"',
            f"expired = {str(report.expired).lower()}",
            f"delayed = {str(report.kind == 'delayed').lower()}",
            f'message_id = "{marker.format(name=scenario.name)[1:-1]}"',
            f'note = "{scenario.note}"',
            "",
        ]
    (target / "manifest.toml").write_text("\n".join(lines))


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/bounces"
    with tempfile.TemporaryDirectory(prefix="outreach-bounces-") as tmp:
        pki = make_pki(Path(tmp) / "pki")
        with bounce_world(pki) as world:
            for mta in ("postfix", "exim"):
                freeze(world, target / mta, mta)
            print(f"{len(world.reports)} reports written under {target}")


if __name__ == "__main__":
    main()
