"""A generated outreach database for bench/engine.py: mailboxes, campaigns, leads, enrollments,
the attempt ledger, counters, idempotency keys and the suppression list, in realistic shapes.

The schema is the real one (`make_engine` + `migrate.upgrade`); the rows go in through raw
sqlite3 `executemany` in big transactions with journalling and syncing off, and the secondary
indexes of the big tables are dropped before the load and rebuilt after it (a sort per index
instead of ten million random B-tree inserts). The file is cached under bench/out/, keyed by
GENERATOR_VERSION and the row counts, and reused until `--rebuild`.

Shapes (for the default 1,200 mailboxes / 1,000,000 leads / 10,000,000 attempts):

* ~120 sending domains (2 paused); mailboxes mostly HEALTHY, ~1.5 % PAUSED (cooling down),
  1 % RESTRICTED_SEND, 1 % WARM_RECOVERY, 0.5 % QUARANTINE; 90 % fixed daily limits 200-300,
  10 % on the warmup ramp.
* 20 campaigns of 3 steps (subject with spintax, then two threaded "Re:" follow-ups after 3
  and 4 days): 14 active (3 manual approval), 3 paused 5-20 days ago, 3 finished; 5 restricted
  to a third of the mailboxes; windows Mon-Fri 09-17 (every fourth 08-18) in the recipient's
  timezone (three in a fixed zone).
* leads on leads/20 recipient domains (skewed: a few domains hold thousands of leads), a mix of
  TLDs (EU, UK, CA, AU and others) with matching timezones (a fifth without one); health
  85 % GREEN, 10 % YELLOW, 5 % RED; 3 % replied, 1.5 % bounced, 0.5 % unsubscribed.
* every lead enrolled in ~5-6 of the campaigns (that is what 10 attempts per lead over 3-step
  sequences takes). Enrollment states follow the campaign: finished campaigns hold finished and
  stopped enrollments; paused ones keep active enrollments whose due times passed while they
  were paused; active ones: finished, stopped, due in the future, overdue by up to a day (3 %),
  new with no due time yet (7 %), and ~3,500 queued with an open attempt.
* the attempt ledger: the sent steps of every enrollment, sent on weekdays 07-20 UTC over the
  past 90 days (1 % failed, 0.5 % rejected, bounced leads' hard bounces), plus the open
  attempts: ~2,000 approved and due now (window open at NOW), approved ones waiting for their
  window, and pending_approval ones of manual campaigns.
* daily_counter rows computed from the ledger: user and mailbox scopes for every day of the
  history, mailbox_bounce, mailbox_yellow for today, recipient-domain scope for the last 7
  days. Idempotency keys of the sends of the last 14 days. Suppression: leads/20 entries
  (bounced and unsubscribed leads, other addresses, 10 % whole domains).
* audit_log is left empty (the engine only appends to it; its size changes no figure here).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from outreach_tui.core.policy import normalize_subject
from outreach_tui.core.region import infer_region
from outreach_tui.core.window import SendWindow
from outreach_tui.db import migrate
from outreach_tui.db.session import make_engine

GENERATOR_VERSION = 2
#: The instant the benchmark's simulated clock stands at: a Wednesday, 16:00 in Berlin and
#: 10:00 in New York (windows open), 07:00 in Los Angeles and midnight in Tokyo (closed).
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
OPERATOR = "bench"
PASSWORD_ENV = "BENCH_SMTP_PASSWORD"
OUT_DIR = Path(__file__).resolve().parent / "out"

DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 90
STEP_DELAYS = (0.0, 3.0, 4.0)  # delay_days of steps 1, 2, 3
CUM_DAYS = (0, 3, 7)  # days from step 1 to step k
N_CAMPAIGNS = 20
OPEN_TARGET = {"due": 2000, "other": 1500}  # open attempts: approved due now / the rest
#: Overdue + new enrollments at least (planner work for the ticks of a small database).
DUE_FLOOR = 6000
BATCH = 20_000

FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Eva",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Lukas",
    "Mara",
    "Nils",
    "Olga",
    "Paul",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Willem",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Liam",
    "Emma",
    "Noah",
    "Mia",
    "Leon",
]
LAST = [
    "Smith",
    "Muller",
    "Rossi",
    "Garcia",
    "Jansen",
    "Nowak",
    "Berg",
    "Dubois",
    "Silva",
    "Kowalski",
    "Novak",
    "Horvat",
    "Brown",
    "Wilson",
    "Taylor",
    "Schmidt",
    "Fischer",
    "Weber",
    "Moreau",
    "Lambert",
    "Costa",
    "Santos",
    "Lindqvist",
    "Virtanen",
    "Olsen",
]
WORDS = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "hooli",
    "vandelay",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "gringotts",
    "oscorp",
    "aperture",
    "blackmesa",
    "monarch",
    "dunder",
    "prestige",
    "nakatomi",
]
TITLES = ["Head of Sales", "CTO", "Marketing Lead", "Founder", "Editor"]
# (tld, weight, timezones a lead there may have; None = no timezone given)
TLDS: list[tuple[str, int, list[str | None]]] = [
    (
        "com",
        50,
        [
            "America/New_York",
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "Europe/London",
            None,
            None,
        ],
    ),
    ("de", 9, ["Europe/Berlin", "Europe/Berlin", "Europe/Berlin", None]),
    ("co.uk", 7, ["Europe/London", "Europe/London", None]),
    ("fr", 5, ["Europe/Paris", "Europe/Paris", None]),
    ("io", 6, ["Europe/London", "America/New_York", "Europe/Berlin", None]),
    ("nl", 3, ["Europe/Amsterdam", None]),
    ("ca", 3, ["America/Toronto", "America/Vancouver", None]),
    ("com.au", 2, ["Australia/Sydney", None]),
    ("es", 2, ["Europe/Madrid", None]),
    ("it", 2, ["Europe/Rome", None]),
    ("se", 2, ["Europe/Stockholm", None]),
    ("pl", 2, ["Europe/Warsaw", None]),
    ("co.jp", 2, ["Asia/Tokyo", "Asia/Tokyo", None]),
    ("net", 3, ["America/New_York", "Europe/Berlin", None]),
    ("org", 2, ["America/Chicago", None]),
]

STEP1_SUBJECT = "{Quick|Short} question about {{company}}"
STEP_BODIES = (
    "Hi {{first_name|there}},\n\n{I run|I look after} partnerships at {{sender_name}} and "
    "{noticed|saw} what {{company}} has been publishing lately. Would a guest article for your "
    "readers be of interest? Happy to send two or three topics.\n\nBest,\n{{sender_name}}",
    "Hi {{first_name|there}}, just bumping this up in case it got buried. Would a short guest "
    "piece for {{company}} be useful?\n\n{{sender_name}}",
    "Hi {{first_name|there}}, last note from me: if guest articles are not a fit for "
    "{{company}} right now, no problem at all. Thanks for reading!\n\n{{sender_name}}",
)


@dataclass(frozen=True)
class Shape:
    leads: int = 1_000_000
    attempts: int = 10_000_000
    mailboxes: int = 1_200

    @property
    def key(self) -> str:
        return f"engine-v{GENERATOR_VERSION}-m{self.mailboxes}-l{self.leads}-a{self.attempts}"


# -- timestamps as SQLAlchemy stores them on SQLite ----------------------------------------

_NOW_TS = int(NOW.timestamp())
_DAY_STR: dict[int, str] = {}


def ts(offset: float) -> str:
    """NOW + offset seconds, formatted like SQLAlchemy's SQLite DateTime (naive UTC)."""
    t = _NOW_TS + int(offset)
    day, sec = divmod(t, DAY)
    s = _DAY_STR.get(day)
    if s is None:
        s = _DAY_STR[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")
    h, rem = divmod(sec, HOUR)
    m, sc = divmod(rem, 60)
    return f"{s} {h:02d}:{m:02d}:{sc:02d}.000000"


def ts_dt(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def day_index(offset: float) -> int:
    """0 for today (UTC, NOW's day), 1 for yesterday, ..."""
    return (_NOW_TS // DAY) - ((_NOW_TS + int(offset)) // DAY)


def day_str(index: int) -> str:
    return (NOW.date() - timedelta(days=index)).isoformat()


# -- generation ------------------------------------------------------------------------------


@dataclass
class _Campaign:
    id: int
    name: str
    status: str
    approval: str
    timezone: str
    default_timezone: str
    window: SendWindow
    window_row: tuple[list[str], str, str]
    mailboxes: list[int] | None  # restricted to these mailbox indexes
    start: float  # offsets (seconds, negative = past)
    pause_at: float | None
    finished_at: float | None
    open_now: dict[str | None, bool]
    next_open: dict[str | None, str]


class _Writer:
    """Buffers rows per table and flushes them with executemany."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.sql: dict[str, str] = {}
        self.buf: dict[str, list[tuple[Any, ...]]] = {}
        self.count: dict[str, int] = {}

    def table(self, name: str, columns: Sequence[str]) -> Callable[[tuple[Any, ...]], None]:
        marks = ",".join("?" * len(columns))
        names = ",".join(f'"{c}"' for c in columns)
        self.sql[name] = f"INSERT INTO {name} ({names}) VALUES ({marks})"
        buf = self.buf[name] = []
        self.count[name] = 0

        def add(row: tuple[Any, ...]) -> None:
            buf.append(row)
            if len(buf) >= BATCH:
                self.flush(name)

        return add

    def flush(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.buf):
            rows = self.buf[key]
            if rows:
                self.conn.executemany(self.sql[key], rows)
                self.count[key] += len(rows)
                rows.clear()


LEAD_COLS = (
    "id",
    "email",
    "domain",
    "first_name",
    "last_name",
    "company",
    "website",
    "timezone",
    "custom",
    "status",
    "verification_status",
    "verification_score",
    "health",
    "verified_at",
    "source",
    "created_at",
    "updated_at",
)
ENROLL_COLS = (
    "id",
    "campaign_id",
    "lead_id",
    "mailbox_id",
    "next_step",
    "next_due_at",
    "state",
    "stop_reason",
    "thread_message_ids",
    "first_subject",
    "updated_at",
)
ATTEMPT_COLS = (
    "id",
    "lead_id",
    "campaign_id",
    "campaign_lead_id",
    "step_position",
    "mailbox_id",
    "operator_id",
    "sender_email",
    "recipient_email",
    "recipient_domain",
    "subject",
    "body",
    "idempotency_key",
    "state",
    "message_id",
    "in_reply_to",
    "references",
    "legal_basis",
    "region",
    "policy_result",
    "smtp_code",
    "smtp_response",
    "error_class",
    "error_detail",
    "retry_count",
    "next_attempt_at",
    "first_tried_at",
    "sending_started_at",
    "sent_at",
    "approved_by",
    "approved_at",
    "edited_by",
    "edited_at",
    "created_at",
    "updated_at",
)


def _weighted(rng: random.Random, items: list[tuple[Any, int]], n: int) -> list[Any]:
    population = [item for item, _ in items]
    weights = [w for _, w in items]
    return rng.choices(population, weights, k=n)


class Generator:
    def __init__(self, shape: Shape, seed: int = 20260304) -> None:
        self.shape = shape
        self.rng = random.Random(seed)
        self.stats: dict[str, Any] = {}

    # ---- fixed parts ----

    def _domains_and_mailboxes(self) -> None:
        rng = self.rng
        m = self.shape.mailboxes
        n_domains = max(1, round(m / 10))
        self.sdomains = [f"{WORDS[d % len(WORDS)]}-mail{d}.com" for d in range(n_domains)]
        self.sdomain_paused = {d for d in range(n_domains) if d % 60 == 59}
        self.mbox: list[dict[str, Any]] = []
        for i in range(m):
            d = i % n_domains
            u = rng.random()
            phase = (
                "PAUSED"
                if u < 0.015
                else "RESTRICTED_SEND"
                if u < 0.025
                else "WARM_RECOVERY"
                if u < 0.035
                else "QUARANTINE"
                if u < 0.04
                else "HEALTHY"
            )
            warm = rng.random() < 0.10
            self.mbox.append(
                {
                    "email": f"{FIRST[i % len(FIRST)].lower()}{i}@{self.sdomains[d]}",
                    "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // 3) % len(LAST)]}",
                    "domain": d,
                    "phase": phase,
                    "daily_limit": None if warm else rng.choice((200, 250, 300)),
                    "warmup_started": (NOW.date() - timedelta(days=rng.randint(3, 60))).isoformat()
                    if warm
                    else None,
                }
            )
        # Rotation weights: warmup and restricted mailboxes carry less of the history.
        self.mbox_pick: list[int] = []
        for i, box in enumerate(self.mbox):
            weight = 1 if box["daily_limit"] is None or box["phase"] != "HEALTHY" else 8
            self.mbox_pick.extend([i] * weight)

    def _campaigns(self) -> None:
        self.campaigns: list[_Campaign] = []
        m = self.shape.mailboxes
        healthy = [i for i, b in enumerate(self.mbox) if b["phase"] == "HEALTHY"]
        for c in range(N_CAMPAIGNS):
            status = "active" if c < 14 else "paused" if c < 17 else "finished"
            approval = "manual" if c in (3, 7, 11, 15) else "auto"
            timezone = {4: "Europe/Berlin", 9: "America/New_York", 13: "Europe/London"}.get(
                c, "recipient"
            )
            default_tz = "Europe/Berlin" if c % 2 else "America/New_York"
            start, end = ("08:00", "18:00") if c % 4 == 3 else ("09:00", "17:00")
            days = ["mon", "tue", "wed", "thu", "fri"]
            restricted = None
            if c in (2, 5, 8, 12, 15) and m >= 30:
                size = len(healthy) // 3
                block = (c * 97) % max(1, len(healthy) - size)
                restricted = healthy[block : block + size]
            created = (
                -(85 - 5 * c) * DAY
                if status == "active"
                else -60 * DAY
                if status == "paused"
                else -(110 - c) * DAY
            )
            pause_at = {14: -5 * DAY, 15: -12 * DAY, 16: -20 * DAY}.get(c)
            finished = -20 * DAY if status == "finished" else None
            window = SendWindow.parse(days, start, end)
            self.campaigns.append(
                _Campaign(
                    id=c + 1,
                    name=f"Campaign {c + 1:02d} {WORDS[c % len(WORDS)].title()}",
                    status=status,
                    approval=approval,
                    timezone=timezone,
                    default_timezone=default_tz,
                    window=window,
                    window_row=(days, start, end),
                    mailboxes=restricted,
                    start=created,
                    pause_at=pause_at,
                    finished_at=finished,
                    open_now={},
                    next_open={},
                )
            )
        zones = {z for _, _, tzs in TLDS for z in tzs}
        for camp in self.campaigns:
            for z in zones:
                zone = ZoneInfo(
                    camp.timezone if camp.timezone != "recipient" else z or camp.default_timezone
                )
                camp.open_now[z] = camp.window.is_open(NOW, zone)
                camp.next_open[z] = ts_dt(camp.window.next_open(NOW + timedelta(hours=1), zone))

    def _recipient_domains(self) -> None:
        rng = self.rng
        n = max(10, self.shape.leads // 20)
        tlds = _weighted(rng, [((t, z), w) for t, w, z in TLDS], n)
        self.rdomains = [f"{WORDS[j % len(WORDS)]}{j}.{tlds[j][0]}" for j in range(n)]
        self.rdomain_tz = [tlds[j][1] for j in range(n)]
        self.rdomain_company = [f"{WORDS[j % len(WORDS)].title()} {j}" for j in range(n)]
        self.rdomain_rule = []
        for name in self.rdomains:
            rule = infer_region("x@" + name)
            self.rdomain_rule.append((rule.legal_basis.value, rule.region))

    # ---- the big loop ----

    def _calibrate(self) -> float:
        """Enrollments per lead that give shape.attempts attempts: measure on a sample."""
        sample = min(self.shape.leads, 4000)
        probe = Generator.__new__(Generator)
        probe.__dict__.update(self.__dict__)
        probe.rng = random.Random(1)
        probe.p_open = 0.0
        probe.s_over, probe.s_new = 0.03, 0.07
        probe.s_future = self.s_future
        probe.suppressed_addresses = []
        probe.open_counts = {}
        counts = {"attempts": 0}

        def sink(_row: tuple[Any, ...]) -> None:
            counts["attempts"] += 1

        probe._emit = _Emitters(lambda r: None, lambda r: None, sink)
        probe._counters_on = False
        probe._next_ids = [1, 1]
        per_lead = []
        for k_mean in (3.0, 7.0):
            probe.rng = random.Random(1)
            counts["attempts"] = 0
            for i in range(sample):
                probe._lead(i, k_mean)
            per_lead.append(counts["attempts"] / sample)
        slope = (per_lead[1] - per_lead[0]) / 4.0
        wanted = self.shape.attempts / self.shape.leads
        k = 3.0 + (wanted - per_lead[0]) / max(slope, 1e-9)
        return max(1.0, min(float(N_CAMPAIGNS), k))

    def _lead(self, i: int, k_mean: float) -> None:
        rng = self.rng
        lead_id = i + 1
        n_rd = len(self.rdomains)
        j = min(n_rd - 1, int(n_rd * rng.random() ** 1.6))
        domain = self.rdomains[j]
        first, last = FIRST[i % len(FIRST)], LAST[(i // 7) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}{i}@{domain}"
        tz = rng.choice(self.rdomain_tz[j])
        company = self.rdomain_company[j]
        u = rng.random()
        health = "GREEN" if u < 0.85 else "YELLOW" if u < 0.95 else "RED"
        if health == "RED":
            fate = "red"
        else:
            u = rng.random()
            fate = (
                "replied"
                if u < 0.03
                else "bounced"
                if u < 0.045
                else "unsubscribed"
                if u < 0.05
                else "normal"
            )
        k = int(k_mean) + (1 if rng.random() < k_mean - int(k_mean) else 0)
        base = rng.randrange(N_CAMPAIGNS)
        any_sent = False
        legal, region = self.rdomain_rule[j]
        lead = (lead_id, email, domain, first, last, company, tz, health, fate, legal, region, j)
        for r in range(k):
            camp = self.campaigns[(base + 7 * r) % N_CAMPAIGNS]
            later = fate if fate in ("normal", "red") else "stopped_" + fate
            any_sent |= self._enrollment(lead, camp, fate if r == 0 else later)
        status = {"replied": "replied", "bounced": "bounced", "unsubscribed": "unsubscribed"}.get(
            fate, "contacted" if any_sent else "new"
        )
        if fate in ("bounced", "unsubscribed"):
            self.suppressed_addresses.append((email, fate))
        created = -rng.randint(HISTORY_DAYS + 5, HISTORY_DAYS + 40) * DAY
        verification = {
            "GREEN": ("VALID", 80 + i % 20),
            "YELLOW": ("CATCH_ALL", 55 + i % 20),
            "RED": ("MAILBOX_NOT_FOUND", 5 + i % 30),
        }[health]
        self._emit.lead(
            (
                lead_id,
                email,
                domain,
                first,
                last,
                company,
                f"https://{domain}",
                tz,
                json.dumps({"job_title": TITLES[i % len(TITLES)]}) if i % 3 == 0 else None,
                status,
                verification[0],
                verification[1],
                health,
                ts(created + HOUR),
                "csv:leads-2025-11.csv",
                ts(created),
                ts(created + HOUR),
            )
        )

    def _enrollment(self, lead: tuple[Any, ...], camp: _Campaign, fate: str) -> bool:
        """Emit one enrollment and its attempts; True when something was sent."""
        rng = self.rng
        lead_id, email, domain, first, _, company, _, health, _, legal, region, j = lead
        enroll_id = self._next_ids[0]
        self._next_ids[0] += 1
        if camp.mailboxes is not None:
            mbox = rng.choice(camp.mailboxes)
        else:
            mbox = rng.choice(self.mbox_pick)
        lo = camp.start + DAY
        open_kind: str | None = None
        next_due: float | None = None
        stop_reason: str | None = None
        bounce = False
        if fate == "red":
            if camp.status == "active" and rng.random() < 0.07:
                state, next_step, n_sent = "active", 1, 0
            else:
                state, next_step, n_sent = "stopped", 1, 0
                stop_reason = "verification health RED: never queued"
            t1 = 0.0
        elif fate.startswith("stopped_"):
            state, next_step, n_sent = "stopped", 1, 0
            stop_reason = f"lead is {fate[8:]}" if fate != "stopped_replied" else "lead replied"
            t1 = 0.0
        elif fate != "normal":  # the enrollment where it happened
            n_sent = 1 if fate != "replied" else rng.choice((1, 2))
            state, next_step = "stopped", n_sent + 1
            stop_reason = {
                "replied": "lead replied",
                "bounced": "hard bounce",
                "unsubscribed": "lead unsubscribed",
            }[fate]
            bounce = fate == "bounced"
            t1 = self._uniform(lo, -8 * DAY)
        elif camp.status == "finished":
            end = (camp.finished_at or 0) - 8 * DAY
            if rng.random() < 0.85:
                state, next_step, n_sent = "finished", 4, 3
            else:
                state, n_sent = "stopped", rng.choice((1, 2))
                next_step, stop_reason = n_sent + 1, "stopped by the operator"
            t1 = self._uniform(lo, end)
        elif camp.status == "paused":
            u = rng.random()
            pause = camp.pause_at or 0
            if u < 0.55:
                state, next_step, n_sent = "finished", 4, 3
                t1 = self._uniform(lo, pause - 8 * DAY)
            elif u < 0.75:
                state, n_sent = "stopped", rng.choice((1, 2))
                next_step, stop_reason = n_sent + 1, "stopped by the operator"
                t1 = self._uniform(lo, pause - 4 * DAY)
            else:
                state, next_step = "active", rng.choice((1, 2, 2, 3))
                n_sent = next_step - 1
                if next_step == 1:
                    t1 = 0.0
                else:
                    last_sent = pause - rng.random() * 30 * DAY
                    t1 = last_sent - CUM_DAYS[next_step - 2] * DAY
                    next_due = last_sent + STEP_DELAYS[next_step - 1] * DAY
        else:  # active campaign
            u = rng.random()
            edge_open = self.p_open
            edge_over = edge_open + self.s_over
            edge_new = edge_over + self.s_new
            rest = (u - edge_new) / (1 - edge_new) if u >= edge_new else -1.0
            if u < edge_open:
                state, next_step = "queued", rng.choice((1, 2, 2, 3))
                n_sent = next_step - 1
                next_due = -rng.random() * 1800
                t1 = 0.0
                if next_step > 1:
                    last = STEP_DELAYS[next_step - 1] + CUM_DAYS[next_step - 2]
                    t1 = next_due - last * DAY
                open_kind = "queued"
            elif u < edge_new and u >= edge_over:
                state, next_step, n_sent, t1 = "active", 1, 0, 0.0  # new: no due time yet
            elif u < edge_over or rest < self.s_future / (1 - edge_new):
                state, next_step = "active", rng.choice((2, 2, 3))
                n_sent = next_step - 1
                delay = STEP_DELAYS[next_step - 1] * DAY
                # overdue by up to a day, or due within its delay
                next_due = -rng.random() * DAY if u < edge_over else rng.random() * delay
                t1 = next_due - delay - CUM_DAYS[next_step - 2] * DAY
            elif rng.random() < 0.75:
                state, next_step, n_sent = "finished", 4, 3
                t1 = self._uniform(lo, -8 * DAY)
            else:
                state, n_sent = "stopped", rng.choice((1, 2))
                next_step, stop_reason = n_sent + 1, "stopped by the operator"
                t1 = self._uniform(lo, -4 * DAY)
        # Sent steps.
        sender = self.mbox[mbox]
        sender_email = sender["email"]
        spin = "Quick" if (lead_id + camp.id) % 2 else "Short"
        subject1 = f"{spin} question about {company}"
        thread: list[str] = []
        any_sent = False
        emit = self._emit.attempt
        for step in range(1, n_sent + 1):
            at = t1 + CUM_DAYS[step - 1] * DAY + rng.random() * 2 * HOUR
            at = self._business_hours(at)
            attempt_id = self._next_ids[1]
            self._next_ids[1] += 1
            message_id = f"<{attempt_id:09d}.{lead_id}@{self.sdomains[sender['domain']]}>"
            subject = subject1 if step == 1 else f"Re: {subject1}"
            key = self._key(sender_email, email, subject)
            u = rng.random()
            if bounce and step == n_sent:
                st, code, resp, err = "failed", 550, "5.1.1 user unknown", "hard_bounce"
            elif u < 0.01:
                st, code, resp, err = "failed", 554, "5.7.1 message refused", "rejected_message"
            elif u < 0.015:
                st, code, resp, err = "rejected", None, None, None
            else:
                st, code, resp, err = "sent", 250, "2.0.0 OK", None
            created = ts(at - rng.random() * HOUR)
            sent = ts(at)
            emit(
                (
                    attempt_id,
                    lead_id,
                    camp.id,
                    enroll_id,
                    step,
                    mbox + 1,
                    OPERATOR,
                    sender_email,
                    email,
                    domain,
                    subject,
                    self._body(step, first, company, sender["name"]),
                    key,
                    st,
                    message_id,
                    thread[-1] if thread else None,
                    " ".join(thread) if thread else None,
                    legal,
                    region,
                    "allowed" if st != "rejected" else "blocked",
                    code,
                    resp,
                    err,
                    "daily domain cap reached" if st == "rejected" else None,
                    0,
                    created,
                    sent if st != "rejected" else None,
                    sent if st != "rejected" else None,
                    sent if st == "sent" else None,
                    OPERATOR,
                    created,
                    None,
                    None,
                    created,
                    sent,
                )
            )
            if st != "rejected":
                thread.append(message_id)
            if st == "sent":
                any_sent = True
                if self._counters_on:
                    self._count(at, mbox, j, key, attempt_id, health)
            elif err == "hard_bounce" and self._counters_on:
                d = day_index(at)
                self.c_bounce[(mbox, d)] = self.c_bounce.get((mbox, d), 0) + 1
        if open_kind is not None:
            self._open_attempt(
                lead, camp, enroll_id, next_step, mbox, subject1, thread, next_due or 0.0
            )
        self._emit.enrollment(
            (
                enroll_id,
                camp.id,
                lead_id,
                mbox + 1 if n_sent or open_kind else None,
                next_step,
                ts(next_due) if next_due is not None else None,
                state,
                stop_reason,
                json.dumps(thread) if thread else None,
                subject1 if n_sent or open_kind else None,
                ts(min(0.0, (next_due or 0.0))),
            )
        )
        return any_sent

    def _open_attempt(
        self,
        lead: tuple[Any, ...],
        camp: _Campaign,
        enroll_id: int,
        step: int,
        mbox: int,
        subject1: str,
        thread: list[str],
        planned: float,
    ) -> None:
        lead_id, email, domain, first, _, company, tz, *_ = lead
        sender = self.mbox[mbox]
        attempt_id = self._next_ids[1]
        self._next_ids[1] += 1
        subject = subject1 if step == 1 else f"Re: {subject1}"
        if camp.approval == "manual":
            state, when, kind = "pending_approval", ts(planned), "pending"
        elif camp.open_now.get(tz, False):
            state, when, kind = "approved", ts(planned), "due"
        else:
            state, when, kind = "approved", camp.next_open.get(tz) or ts(HOUR), "waiting"
        self.open_counts[kind] = self.open_counts.get(kind, 0) + 1
        created = ts(planned - 60)
        self._emit.attempt(
            (
                attempt_id,
                lead_id,
                camp.id,
                enroll_id,
                step,
                mbox + 1,
                OPERATOR,
                sender["email"],
                email,
                domain,
                subject,
                self._body(step, first, company, sender["name"]),
                self._key(sender["email"], email, subject),
                state,
                f"<{attempt_id:09d}.{lead_id}@{self.sdomains[sender['domain']]}>",
                thread[-1] if thread else None,
                " ".join(thread) if thread else None,
                None,
                None,
                "planned",
                None,
                None,
                None,
                None,
                0,
                when,
                None,
                None,
                None,
                OPERATOR if state == "approved" else None,
                created if state == "approved" else None,
                None,
                None,
                created,
                created,
            )
        )

    def _uniform(self, lo: float, hi: float) -> float:
        if hi <= lo:
            return hi
        return lo + self.rng.random() * (hi - lo)

    def _business_hours(self, at: float) -> float:
        """Move a send onto a weekday between 07:00 and 20:00 UTC, never after NOW."""
        t = _NOW_TS + int(at)
        day, sec = divmod(t, DAY)
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday (3)
        if weekday == 5:  # Saturday -> Friday, Sunday -> Monday
            day -= 1
        elif weekday == 6:
            day += 1
        sec = 7 * HOUR + sec % (13 * HOUR)
        offset = day * DAY + sec - _NOW_TS
        return offset if offset < -60 else -60 - (sec % HOUR)

    @staticmethod
    def _key(sender: str, recipient: str, subject: str) -> str:
        material = "\x1f".join((sender, recipient, normalize_subject(subject)))
        return hashlib.sha256(material.encode()).hexdigest()

    def _body(self, step: int, first: str, company: str, sender: str) -> str:
        return self.bodies[step - 1].format(first=first, company=company, sender=sender)

    def _count(
        self, at: float, mbox: int, rdomain: int, key: str, attempt_id: int, health: str
    ) -> None:
        d = day_index(at)
        self.c_user[d] = self.c_user.get(d, 0) + 1
        k = (mbox, d)
        self.c_mbox[k] = self.c_mbox.get(k, 0) + 1
        if d < 7:
            k2 = (rdomain, d)
            self.c_domain[k2] = self.c_domain.get(k2, 0) + 1
            if d == 0 and health == "YELLOW":
                self.c_yellow[mbox] = self.c_yellow.get(mbox, 0) + 1
        if d < 14:
            prev = self.idem.get(key)
            if prev is None or prev[1] < at:
                self.idem[key] = (attempt_id, at)

    # ---- driver ----

    def run(self, conn: sqlite3.Connection, log: Callable[[str], None]) -> dict[str, Any]:
        rng = self.rng
        self._domains_and_mailboxes()
        self._campaigns()
        self._recipient_domains()
        self.bodies = [
            "Hi {first},\n\nI look after partnerships at {sender} and saw what {company} has "
            "been publishing lately. Would a guest article for your readers be of interest? "
            "Happy to send two or three topics.\n\nBest,\n{sender}",
            "Hi {first}, just bumping this up in case it got buried. Would a short guest piece "
            "for {company} be useful?\n\n{sender}",
            "Hi {first}, last note from me: if guest articles are not a fit for {company} right "
            "now, no problem at all. Thanks for reading!\n\n{sender}",
        ]
        self.suppressed_addresses: list[tuple[str, str]] = []
        self.open_counts: dict[str, int] = {}
        self.c_user: dict[int, int] = {}
        self.c_mbox: dict[tuple[int, int], int] = {}
        self.c_bounce: dict[tuple[int, int], int] = {}
        self.c_domain: dict[tuple[int, int], int] = {}
        self.c_yellow: dict[int, int] = {}
        self.idem: dict[str, tuple[int, float]] = {}
        # Steady state: the enrollments waiting for their next step are about what the pool
        # sends in the ~3.5 days of a step's delay (sends per weekday x 3.5).
        active_share = sum(c.status == "active" for c in self.campaigns) / N_CAMPAIGNS
        per_weekday = self.shape.attempts / HISTORY_DAYS * 7 / 5
        self.s_future = 0.15
        for _ in range(2):
            k_mean = self._calibrate()
            expected_active = self.shape.leads * k_mean * active_share * 0.9
            self.s_future = min(0.5, 3.5 * per_weekday / max(expected_active, 1))
        self.p_open = min(0.3, sum(OPEN_TARGET.values()) / max(expected_active, 1))
        # Due work for the planner: 3 % overdue and 7 % new enrollments, but at least
        # DUE_FLOOR in all, so a small baseline database gives its ticks the same work.
        self.s_over = min(0.25, max(0.03, 0.3 * DUE_FLOOR / max(expected_active, 1)))
        self.s_new = min(0.35, max(0.07, 0.7 * DUE_FLOOR / max(expected_active, 1)))
        log(
            f"enrollments per lead {k_mean:.2f}; shares of active enrollments: open "
            f"{self.p_open:.4f}, overdue {self.s_over:.4f}, new {self.s_new:.4f}, waiting for "
            f"their next step {self.s_future:.4f}"
        )
        self._counters_on = True
        self._next_ids = [1, 1]
        w = _Writer(conn)
        conn.execute("BEGIN")
        w.table("operator", ("id", "display_name", "created_at"))(
            (OPERATOR, OPERATOR, ts(-200 * DAY))
        )
        add = w.table(
            "sending_domain",
            (
                "id",
                "name",
                "paused",
                "paused_reason",
                "spf_ok",
                "dkim_ok",
                "dmarc_ok",
                "blocklisted",
                "dns_checked_at",
            ),
        )
        for d, name in enumerate(self.sdomains):
            paused = d in self.sdomain_paused
            add(
                (
                    d + 1,
                    name,
                    int(paused),
                    "3 mailboxes failing" if paused else None,
                    int(not paused),
                    1,
                    1,
                    0,
                    ts(-3 * HOUR),
                )
            )
        add = w.table(
            "mailbox",
            (
                "id",
                "email",
                "from_name",
                "domain_id",
                "smtp_host",
                "smtp_port",
                "smtp_security",
                "smtp_user",
                "smtp_password_ref",
                "verify_tls",
                "imap_host",
                "imap_port",
                "imap_user",
                "imap_password_ref",
                "source",
                "daily_limit",
                "warmup_started",
                "phase",
                "phase_changed_at",
                "cooldown_until",
                "offence_count",
                "relapse_count",
                "resilience_score",
                "clean_sends_in_phase",
                "needs_review",
                "paused_reason",
                "version",
                "last_sent_at",
                "next_send_at",
                "created_at",
            ),
        )
        for i, box in enumerate(self.mbox):
            host = f"smtp.{self.sdomains[box['domain']]}"
            paused = box["phase"] == "PAUSED"
            add(
                (
                    i + 1,
                    box["email"],
                    box["name"],
                    box["domain"] + 1,
                    host,
                    587,
                    "starttls",
                    box["email"],
                    f"env:{PASSWORD_ENV}",
                    1,
                    host.replace("smtp.", "imap."),
                    993,
                    box["email"],
                    f"env:{PASSWORD_ENV}",
                    "csv",
                    box["daily_limit"],
                    box["warmup_started"],
                    box["phase"],
                    ts(-rng.randint(1, 20) * DAY) if box["phase"] != "HEALTHY" else None,
                    ts(rng.randint(2, 40) * HOUR) if paused else None,
                    int(paused),
                    0,
                    85 if paused else 100,
                    0,
                    0,
                    "bounce rate 6.2 % over 7 days" if paused else None,
                    0,
                    ts(-rng.randint(60, 3600)),
                    ts(rng.randint(10, 300)) if rng.random() < 0.1 else ts(-rng.randint(1, 600)),
                    ts(-150 * DAY),
                )
            )
        add = w.table(
            "campaign",
            (
                "id",
                "name",
                "status",
                "approval",
                "timezone",
                "default_timezone",
                "postal_address",
                "window_days",
                "window_start",
                "window_end",
                "mailbox_emails",
                "stop_on_company_reply",
                "paused_reason",
                "source_file",
                "created_at",
                "finished_at",
            ),
        )
        steps = w.table(
            "sequence_step", ("campaign_id", "position", "subject", "body", "delay_days")
        )
        for camp in self.campaigns:
            days, start, end = camp.window_row
            add(
                (
                    camp.id,
                    camp.name,
                    camp.status,
                    camp.approval,
                    camp.timezone,
                    camp.default_timezone,
                    "Example Ltd, 1 Main St, Springfield",
                    json.dumps(days),
                    start,
                    end,
                    json.dumps([self.mbox[i]["email"] for i in camp.mailboxes])
                    if camp.mailboxes is not None
                    else None,
                    0,
                    "bounce spike on one domain" if camp.status == "paused" else None,
                    f"campaigns/c{camp.id}.toml",
                    ts(camp.start),
                    ts(camp.finished_at) if camp.finished_at is not None else None,
                )
            )
            for pos in (1, 2, 3):
                steps(
                    (
                        camp.id,
                        pos,
                        STEP1_SUBJECT if pos == 1 else None,
                        STEP_BODIES[pos - 1],
                        STEP_DELAYS[pos - 1],
                    )
                )
        w.flush()
        self._emit = _Emitters(
            w.table("lead", LEAD_COLS),
            w.table("campaign_lead", ENROLL_COLS),
            w.table("outreach_attempt", ATTEMPT_COLS),
        )
        start = time.perf_counter()
        step = max(1, self.shape.leads // 10)
        for i in range(self.shape.leads):
            self._lead(i, k_mean)
            if (i + 1) % step == 0:
                log(
                    f"  leads {i + 1:,}/{self.shape.leads:,}: "
                    f"{self._next_ids[1] - 1:,} attempts, {time.perf_counter() - start:.0f} s"
                )
        w.flush()
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        self._counters(w)
        self._idempotency(w)
        self._suppression(w)
        w.flush()
        conn.execute("COMMIT")
        self.stats = {
            "shape": asdict(self.shape),
            "rows": dict(w.count),
            "open_attempts": self.open_counts,
            "enrollments_per_lead": round(k_mean, 3),
            "now": NOW.isoformat(),
        }
        return self.stats

    def _counters(self, w: _Writer) -> None:
        add = w.table("daily_counter", ("scope", "key", "day", "count"))
        for d, n in sorted(self.c_user.items()):
            add(("user", OPERATOR, day_str(d), n))
        for (m, d), n in sorted(self.c_mbox.items()):
            add(("mailbox", self.mbox[m]["email"], day_str(d), n))
        for (m, d), n in sorted(self.c_bounce.items()):
            add(("mailbox_bounce", self.mbox[m]["email"], day_str(d), n))
        for m, n in sorted(self.c_yellow.items()):
            add(("mailbox_yellow", self.mbox[m]["email"], day_str(0), n))
        for (j, d), n in sorted(self.c_domain.items()):
            add(("domain", self.rdomains[j], day_str(d), n))

    def _idempotency(self, w: _Writer) -> None:
        add = w.table("idempotency_key", ("key", "attempt_id", "sent_at"))
        for key in sorted(self.idem):
            attempt_id, at = self.idem[key]
            add((key, attempt_id, ts(at)))

    def _suppression(self, w: _Writer) -> None:
        rng = self.rng
        total = max(50, self.shape.leads // 20)
        n_domains = total // 10
        entries: list[tuple[str, str, str, str]] = []
        for email, why in self.suppressed_addresses:
            entries.append(("address", email, why, "bounce" if why == "bounced" else "reply"))
        k = 0
        while len(entries) < total - n_domains:
            entries.append(
                (
                    "address",
                    f"former.customer{k}@{rng.choice(self.rdomains)}",
                    "customer asked",
                    "import:do-not-contact.csv",
                )
            )
            k += 1
        taken = set()
        for _ in range(n_domains):
            if rng.random() < 0.2:
                j = rng.randrange(len(self.rdomains))
                if j in taken:
                    continue
                taken.add(j)
                entries.append(("domain", self.rdomains[j], "competitor", "manual"))
            else:
                entries.append(
                    (
                        "domain",
                        f"blocked{len(entries)}.example",
                        "competitor",
                        "import:blocklist.csv",
                    )
                )
        add = w.table(
            "suppression", ("kind", "value", "reason", "source", "created_by", "created_at")
        )
        seen = set()
        for kind, value, why, source in entries:
            if (kind, value) in seen:
                continue
            seen.add((kind, value))
            add((kind, value, why, source, OPERATOR, ts(-rng.randint(1, 300) * DAY)))


@dataclass
class _Emitters:
    lead: Callable[[tuple[Any, ...]], None]
    enrollment: Callable[[tuple[Any, ...]], None]
    attempt: Callable[[tuple[Any, ...]], None]


# -- the file --------------------------------------------------------------------------------

_BIG_TABLES = (
    "lead",
    "campaign_lead",
    "outreach_attempt",
    "daily_counter",
    "suppression",
    "idempotency_key",
)


def generate(path: Path, shape: Shape, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Create the database at `path` (replacing it) and return its statistics."""
    started = time.perf_counter()
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB
    conn.execute("PRAGMA temp_store=MEMORY")
    indexes = [
        (name, sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({','.join('?' * len(_BIG_TABLES))})",
            _BIG_TABLES,
        )
    ]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    stats = Generator(shape).run(conn, log)
    loaded = time.perf_counter() - started
    log(f"rows loaded in {loaded:.0f} s; building {len(indexes)} indexes")
    for name, sql in indexes:
        t0 = time.perf_counter()
        conn.execute(sql)
        log(f"  {name}: {time.perf_counter() - t0:.1f} s")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    stats["generation_seconds"] = round(time.perf_counter() - started, 1)
    stats["size_bytes"] = path.stat().st_size
    return stats


def cached_db(
    shape: Shape,
    *,
    rebuild: bool = False,
    out_dir: Path = OUT_DIR,
    log: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """The cached database for `shape` (generated when missing or on `rebuild`), migrated to
    the newest schema, with its statistics (including how long generating it took)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{shape.key}.db"
    meta = out_dir / f"{shape.key}.json"
    if rebuild or not path.exists() or not meta.exists():
        meta.unlink(missing_ok=True)
        tmp = out_dir / f"{shape.key}.tmp.db"
        log(f"generating {path.name} ...")
        stats = generate(tmp, shape, log)
        tmp.rename(path)
        meta.write_text(json.dumps(stats, indent=2))
        stats["cached"] = False
    else:
        stats = json.loads(meta.read_text())
        stats["cached"] = True
    # A migration added since the file was generated is applied to the cache once.
    engine = make_engine(f"sqlite:///{path}")
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    # Everything in the main file, so a plain copy of it is the whole database.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    if before != after:
        log(f"cache migrated {before} -> {after}")
        stats["size_bytes"] = path.stat().st_size
    return path, stats


def describe(stats: dict[str, Any]) -> str:
    rows = stats["rows"]
    size = stats.get("size_bytes", 0) / 1e9
    return (
        f"{rows.get('mailbox', 0):,} mailboxes, {rows.get('lead', 0):,} leads, "
        f"{rows.get('campaign_lead', 0):,} enrollments, "
        f"{rows.get('outreach_attempt', 0):,} attempts, "
        f"{rows.get('daily_counter', 0):,} counters, "
        f"{rows.get('idempotency_key', 0):,} idempotency keys, "
        f"{rows.get('suppression', 0):,} suppressions; open attempts "
        f"{stats.get('open_attempts')}; {size:.2f} GB; generated in "
        f"{stats.get('generation_seconds', math.nan):.0f} s"
        + (" (cached)" if stats.get("cached") else "")
    )


def sample_rows(path: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, tuple(params)).fetchall()
    finally:
        conn.close()


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="generate (or reuse) the engine benchmark DB")
    parser.add_argument("--leads", type=int, default=Shape.leads)
    parser.add_argument("--attempts", type=int, default=Shape.attempts)
    parser.add_argument("--mailboxes", type=int, default=Shape.mailboxes)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path, stats = cached_db(Shape(args.leads, args.attempts, args.mailboxes), rebuild=args.rebuild)
    print(path)
    print(describe(stats))


if __name__ == "__main__":
    _main()
