"""Hostile text for the console's tests: markup an operator or a data source may type, and the
terminal sequences a lead list, a campaign file, a mail server or a reply may carry; and a way
to write it into every field the console shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from outreach_tui.db import tables as t
from outreach_tui.engine import Engine

#: Markup that would crash the console or act (a link, a click on quit) if it were read as
#: markup, and the sequences that would act on the operator's terminal if written raw.
HOSTILE: tuple[str, ...] = (
    "[/]",
    "[link=https://evil.example]link[/link]",
    "[@click=app.quit]quit[/]",
    "\x1b]52;c;aGVsbG8=\x07clipboard",
    "\x1b]8;;https://evil.example\x1b\\osc8\x1b]8;;\x1b\\",
    "\x1b[2Jclear",
    "bell\x07",
    "\x9b31mcsi",
    "\u202eevil.exe",
    "slash\\",
    "[b]\\",
)
#: All of it in one string.
EVERYTHING = " ".join(HOSTILE)


def spread(values: Sequence[str], count: int) -> list[str]:
    """`count` values cycling through `values`, each starting with a different one."""
    return [values[i % len(values)] + " " + EVERYTHING for i in range(count)]


def poison(engine: Engine, values: Sequence[str] = HOSTILE) -> None:
    """Write `values` into every text field a pane, a preview or a dialog shows: campaign,
    lead, queued email, reply, suppression, mailbox, domain, audit and event texts (the new
    rows a minute before the engine's now, so they come first)."""
    db = engine.db
    with db.begin() as conn:

        def each(table, key, fields, first=None):
            ids = [row[0] for row in conn.execute(select(key).order_by(key)).all()][:first]
            texts = spread(values, len(ids))
            for i, (row_id, text) in enumerate(zip(ids, texts, strict=True)):
                conn.execute(
                    update(table)
                    .where(key == row_id)
                    .values(**{f: (g(text, i) if callable(g) else text) for f, g in fields.items()})
                )

        each(t.campaign, t.campaign.c.id, {"name": lambda s, i: f"{s} #{i}"})
        each(
            t.lead,
            t.lead.c.id,
            {"first_name": None, "last_name": None, "company": None},
            first=40,
        )
        each(
            t.attempt,
            t.attempt.c.id,
            {"subject": None, "body": lambda s, i: f"Hello {s}\nsecond line {s}"},
        )
        each(
            t.reply,
            t.reply.c.id,
            {
                "subject": None, "snippet": None, "reason": None, "problem": None,
                "from_email": lambda s, i: f"{s}@x{i}.example",
                "affected_email": lambda s, i: f"{s}@y{i}.example",
            },
        )  # fmt: skip
        each(t.sending_domain, t.sending_domain.c.id, {"name": lambda s, i: f"{s}.d{i}"})
        each(t.mailbox, t.mailbox.c.id, {"paused_reason": None})
        # One mailbox without certificate checks: its address is on the status line.
        first_box = conn.execute(select(t.mailbox.c.id).order_by(t.mailbox.c.id)).scalar()
        conn.execute(
            update(t.mailbox)
            .where(t.mailbox.c.id == first_box)
            .values(email=f"{values[0]}{EVERYTHING}@box.example", verify_tls=False)
        )
        at: datetime = engine.clock.now() - timedelta(minutes=1)
        # Numbered on from the rows already there: a test may poison a world again.
        start = conn.execute(select(func.count()).select_from(t.suppression)).scalar_one()
        for i, text in enumerate(spread(values, len(values)), start=start):
            conn.execute(
                insert(t.suppression).values(
                    kind="address", value=f"{text}@s{i}.example", reason=text, source=text,
                    created_by=text, created_at=at,
                )
            )  # fmt: skip
            conn.execute(
                insert(t.audit_log).values(
                    user_id=text, lead_email=text, subject=text, policy_result=text,
                    reason=text, timestamp=at,
                )
            )  # fmt: skip
            conn.execute(
                insert(t.event).values(
                    kind="alert", severity="critical", subject_type="mailbox", subject_id="1",
                    message=text, created_at=at,
                )
            )  # fmt: skip
