"""Benchmark: the whole send pipeline against raw aiosmtplib, same sink, same connections.

2,000 messages of about 3 KB go to a loopback aiosmtpd sink (STARTTLS + AUTH, its own
process). The pipeline run does everything a real send does: policy (counts, suppression,
idempotency), the attempt row committed before DATA, audit rows, counters after the 250.
The baseline sends the same messages with bare aiosmtplib over the same number of reused
connections. Each side runs ROUNDS times, interleaved; medians are reported.

Target: pipeline rate >= 0.5 x raw rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bench.common import median, peak_rss_mb, result_line, sink_process, workdir

BODY = ("Hello {name},\n\n" + ("This is a benchmark paragraph of ordinary prose. " * 12 + "\n")
        * 5)  # about 3 KB  # fmt: skip


def messages(count: int, connections: int) -> list[list[tuple[str, str, str]]]:
    """Per connection: (recipient, subject, body); recipients spread over many domains."""
    out: list[list[tuple[str, str, str]]] = [[] for _ in range(connections)]
    for i in range(count):
        out[i % connections].append(
            (f"lead{i}@company{i % 500}.com", f"Question {i}", BODY.format(name=f"Lead {i}"))
        )
    return out


def raw_message(index: int, recipient: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"box{index}@sender{index}.com"
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def message_sizes(batches) -> tuple[int, int]:
    """Bytes on the wire for the first message: (raw baseline, pipeline). The pipeline's adds
    Message-ID, Date, List-Unsubscribe and the opt-out footer; both bodies are QP-encoded."""
    from datetime import UTC, datetime

    from outreach_tui.mail.message import OutgoingMessage, build_message, new_message_id

    recipient, subject, body = batches[0][0]
    raw = len(raw_message(0, recipient, subject, body).as_bytes())
    sender = "box0@sender0.com"
    pipeline = len(build_message(OutgoingMessage(
        sender_email=sender, sender_name="", recipient_email=recipient, subject=subject,
        body=body, message_id=new_message_id(sender), date=datetime.now(UTC),
        unsubscribe_mailto=sender,
    )))  # fmt: skip
    return raw, pipeline


async def run_raw(sink, batches) -> float:
    """Bare aiosmtplib: STARTTLS (verified) + AUTH once per connection, then MAIL/RCPT/DATA
    per message, the message built per send like the pipeline builds its own."""
    context = ssl.create_default_context(cafile=str(sink.ca_file))

    async def one_connection(index: int, batch) -> None:
        client = aiosmtplib.SMTP(hostname=sink.host, port=sink.port, start_tls=True,
                                 tls_context=context, timeout=30)  # fmt: skip
        await client.connect()
        await client.login(f"box{index}@sender{index}.com", "bench-password")
        for recipient, subject, body in batch:
            await client.send_message(raw_message(index, recipient, subject, body))
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection(i, b) for i, b in enumerate(batches)))
    return time.perf_counter() - start


async def run_pipeline(sink, batches, db_dir: Path) -> float:
    from outreach_tui.config import load_settings
    from outreach_tui.engine import build_engine
    from outreach_tui.engine.sending.pipeline import SendRequest

    os.environ["BENCH_SMTP_PASSWORD"] = "bench-password"
    mailboxes = [
        {"email": f"box{i}@sender{i}.com", "smtp_host": sink.host, "smtp_port": sink.port,
         "smtp_password": "env:BENCH_SMTP_PASSWORD"}
        for i in range(len(batches))
    ]  # fmt: skip
    settings = load_settings(
        None,
        database_url=f"sqlite:///{db_dir / 'bench.db'}",
        mailboxes=mailboxes,
        tls={"ca_file": str(sink.ca_file)},
        policy={"daily_user_cap": 10_000_000, "daily_domain_cap": 10_000_000},
        logging={"file": str(db_dir / "bench.log")},
    )
    engine = build_engine(settings, headless=True)

    async def one_mailbox(index: int, batch) -> None:
        for recipient, subject, body in batch:
            outcome = await engine.send(
                SendRequest(f"box{index}@sender{index}.com", recipient, subject, body)
            )
            if not outcome.sent:
                raise RuntimeError(f"pipeline send failed: {outcome}")

    start = time.perf_counter()
    await asyncio.gather(*(one_mailbox(i, b) for i, b in enumerate(batches)))
    elapsed = time.perf_counter() - start
    await engine.aclose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    batches = messages(args.messages, args.connections)
    raw_rates: list[float] = []
    pipe_rates: list[float] = []
    with workdir() as tmp:
        tmp_path = Path(tmp)
        with sink_process(tmp_path) as sink:
            for round_no in range(args.rounds):
                raw = asyncio.run(run_raw(sink, batches))
                db_dir = tmp_path / f"round{round_no}"
                db_dir.mkdir()
                pipe = asyncio.run(run_pipeline(sink, batches, db_dir))
                raw_rates.append(args.messages / raw)
                pipe_rates.append(args.messages / pipe)
                print(f"round {round_no + 1}: raw {raw_rates[-1]:.0f} msg/s, "
                      f"pipeline {pipe_rates[-1]:.0f} msg/s")  # fmt: skip
    raw_rate, pipe_rate = median(raw_rates), median(pipe_rates)
    ratio = pipe_rate / raw_rate
    raw_size, pipe_size = message_sizes(batches)
    print(f"messages={args.messages} connections={args.connections} rounds={args.rounds}")
    print(f"message size:   raw {raw_size} B, pipeline {pipe_size} B")
    print(f"raw aiosmtplib: {raw_rate:.0f} msg/s (median)")
    print(f"pipeline:       {pipe_rate:.0f} msg/s (median)")
    print(f"ratio:          {ratio:.2f}")
    print(f"peak RSS:       {peak_rss_mb():.0f} MB")
    print(result_line("send_pipeline_msgs_per_s", pipe_rate, raw_rate, 0.5 * raw_rate))
    print(result_line("send_pipeline_ratio", ratio, 1.0, 0.5))
    print(result_line("send_pipeline_peak_rss_mb", peak_rss_mb(), 0, 0))


if __name__ == "__main__":
    main()
