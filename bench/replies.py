"""Benchmark: the reply inbox (fetch, classify, apply) against a bare fetch, same Dovecot.

10,000 messages (the test corpus's replies and bounces, cycled, each with its own
Message-ID; some answer attempts seeded in the database) sit in a real Dovecot folder on
loopback (IMAPS, the test PKI). The inbox run polls until the folder is read: per cycle
connect, EXAMINE, UID SEARCH, UID FETCH of `--batch` messages, then per message the
classifier and one write transaction (reply row, effects, audit, cursor). The baseline does
the same cycles with the same client (`ImapClient`) and keeps only the bytes. Each side runs
ROUNDS times, interleaved (a fresh database per inbox round); medians are reported.

Target: inbox rate >= 0.5 x bare fetch rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from pathlib import Path

from bench.common import median, peak_rss_mb, result_line, workdir
from outreach_tui.config import load_settings
from outreach_tui.engine import build_engine
from outreach_tui.mail.imap import ImapClient, ImapEndpoint
from outreach_tui.secrets import secret_getter
from tests.functional.inbox_world import CORPUS, MAILBOX, corpus, seed_thread
from tests.servers.dovecot import DovecotServer
from tests.servers.pki import make_pki

PASSWORD_ENV = "BENCH_IMAP_PASSWORD"


def build_messages(count: int) -> list[bytes]:
    cases = [c.raw for c in corpus()]
    out = []
    for i in range(count):
        raw = cases[i % len(cases)]
        # A unique Message-ID per copy, so no copy is taken for another's re-delivery.
        raw = re.sub(rb"(?im)^Message-ID:[^\r\n]*\r?\n", b"", raw, count=1)
        out.append(b"Message-ID: <bench-%d@example.com>\r\n" % i + raw)
    return out


def endpoint(server: DovecotServer, user: object, ca_file: Path) -> ImapEndpoint:
    return ImapEndpoint(
        host=server.host,
        port=server.imaps_port,
        username=user.name,  # type: ignore[attr-defined]
        password=secret_getter(f"env:{PASSWORD_ENV}", key="imap_password"),
        security="tls",
        ca_file=ca_file,
        timeout=60,
    )


async def bare_fetch(ep: ImapEndpoint, batch: int) -> int:
    """The poller's IMAP work without classification or database: bytes only."""
    last, total = 0, 0
    while True:
        async with ImapClient(ep) as imap:
            await imap.examine("INBOX")
            uids = await imap.uids_after(last)
            fetched = await imap.fetch(uids[:batch])
        if not fetched:
            return total
        total += len(fetched)
        last = fetched[-1].uid


async def inbox(engine: object) -> int:
    total = 0
    while True:
        cycle = await engine.poll_replies()  # type: ignore[attr-defined]
        assert not cycle.poll.errors, cycle.poll.errors
        if cycle.poll.fetched == 0:
            return total
        total += cycle.poll.applied


def make_engine(
    db_dir: Path,
    server: DovecotServer,
    user: object,
    ca_file: Path,
    batch: int,
    commit_batch: int | None,
):
    replies: dict[str, object] = {"reconcile_min_age_minutes": 0}
    if commit_batch is not None:
        replies["commit_batch"] = commit_batch
    settings = load_settings(
        None,
        database_url=f"sqlite:///{db_dir / 'bench.db'}",
        imap_fetch_limit=batch,
        tls={"ca_file": str(ca_file)},
        logging={"file": str(db_dir / "bench.log"), "level": "WARNING"},
        replies=replies,
        mailboxes=[
            {
                "email": MAILBOX,
                "smtp_host": "127.0.0.1",
                "smtp_port": 9,
                "smtp_password": f"env:{PASSWORD_ENV}",
                "imap_host": server.host,
                "imap_port": server.imaps_port,
                "imap_security": "tls",
                "imap_user": user.name,
                "imap_password": f"env:{PASSWORD_ENV}",  # type: ignore[attr-defined]
            }
        ],
    )
    engine = build_engine(settings, headless=True)
    for case in corpus():  # the corpus's threads: replies find their attempts
        our_id = case.spec.get("original_message_id") or case.spec.get("in_reply_to")
        recipient = (case.spec.get("bounced") or [None])[0] or case.spec.get("from_email")
        if our_id and recipient and our_id.isprintable():
            seed_thread(engine, recipient=recipient, message_id=f"<{our_id}>")
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="IMAP_FETCH_LIMIT for both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--commit-batch", type=int, default=None, help="[replies] commit_batch (default: config)"
    )
    args = parser.parse_args()
    assert CORPUS.is_dir()

    bare_rates: list[float] = []
    inbox_rates: list[float] = []
    with workdir() as tmp:
        tmp_path = Path(tmp)
        pki = make_pki(tmp_path / "pki")
        server = DovecotServer(pki, pool=1)
        try:
            server.start()
            user = server.add_user()
            os.environ[PASSWORD_ENV] = user.password
            server.drop_into_maildir(user, build_messages(args.messages))
            assert server.message_count(user) == args.messages
            ep = endpoint(server, user, pki.ca_file)
            asyncio.run(bare_fetch(ep, args.batch))  # warm the server's index and page cache
            for round_no in range(args.rounds):
                started = time.perf_counter()
                got = asyncio.run(bare_fetch(ep, args.batch))
                bare_rates.append(got / (time.perf_counter() - started))
                db_dir = tmp_path / f"round{round_no}"
                db_dir.mkdir()
                engine = make_engine(
                    db_dir, server, user, pki.ca_file, args.batch, args.commit_batch
                )
                started = time.perf_counter()
                applied = asyncio.run(inbox(engine))
                inbox_rates.append(applied / (time.perf_counter() - started))
                engine.close_sync()
                assert got == applied == args.messages, (got, applied)
                print(
                    f"round {round_no + 1}: bare fetch {bare_rates[-1]:.0f} msg/s, "
                    f"inbox {inbox_rates[-1]:.0f} msg/s"
                )
        finally:
            server.cleanup()
    bare, rate = median(bare_rates), median(inbox_rates)
    print(f"messages={args.messages} batch={args.batch} rounds={args.rounds}")
    print(f"bare fetch:  {bare:.0f} msg/s (median)")
    print(f"inbox:       {rate:.0f} msg/s (median: fetch, classify, apply)")
    print(f"ratio:       {rate / bare:.2f}")
    print(f"peak RSS:    {peak_rss_mb():.0f} MB")
    print(result_line("replies_msgs_per_s", rate, bare, 0.5 * bare))
    print(result_line("replies_ratio", rate / bare, 1.0, 0.5))
    print(result_line("replies_peak_rss_mb", peak_rss_mb(), 0, 0))


if __name__ == "__main__":
    main()
