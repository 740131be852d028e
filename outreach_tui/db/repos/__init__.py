"""Repositories: every SQL statement of the project, by table family.

    attempts     the attempt ledger and its idempotency keys
    campaigns    campaigns and their steps
    enrollments  a lead's progress through a campaign (`campaign_lead`)
    counters     daily counters and the cap locks that guard them
    journal      the audit log and the event stream
    leads        leads
    leases       leases and the worker registry
    mailboxes    mailboxes (and the guard's phase compare-and-set)
    sending_domains  sending domains: paused flag, stored DNS checks
    policy       the facts a policy decision reads, in one statement
    replies      inbound messages (imap_cursors: how far each folder was read;
                 attempts_inbox: the attempts replies answer, unknown sends settled)
    suppression  the suppression list
    views_*      the console's read models (dashboard, mailboxes, tables, explain), the
                 frozen dataclasses it renders beside the reads that fill them
    exports      the tables `outreach-tui export` streams to CSV
    sandbox      writes only the demo's sandbox makes

Each function takes an open `Connection` inside a transaction the caller chose
(`db.database.Database`), so a policy check and the row it allows are written atomically;
rows come back as typed records (`db/records.py` or a dataclass beside the function), never
as `Row[Any]`. Statements are built once at import (constructing SQLAlchemy expressions per
call costs more than running them); the ones on the path of every send are
`DriverStatement`s (db/session.py). The SQLite/PostgreSQL differences live here too.
"""
