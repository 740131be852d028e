"""Repositories: every SQL statement of the project, by table family.

    attempts     the attempt ledger and its idempotency keys
    campaigns    campaigns, their steps and enrollments
    counters     daily counters and the cap locks that guard them
    journal      the audit log and the event stream
    leads        leads
    leases       leases and the worker registry
    mailboxes    mailboxes and sending domains
    policy       the facts a policy decision reads, in one statement
    replies      inbound messages and IMAP cursors
    suppression  the suppression list

Each function takes an open `Connection` inside a transaction the caller chose
(`db.database.Database`), so a policy check and the row it allows are written atomically;
rows come back as typed records (`db/records.py` or a dataclass beside the function), never
as `Row[Any]`. Statements are built once at import (constructing SQLAlchemy expressions per
call costs more than running them); the ones on the path of every send are
`DriverStatement`s (db/session.py). The SQLite/PostgreSQL differences live here too.
"""
