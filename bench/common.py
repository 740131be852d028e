"""Helpers shared by the benchmarks: a run-time CA, the sink process, figures and RESULT lines."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Sink:
    host: str
    port: int
    ca_file: Path
    pid: int = 0


@contextmanager
def sink_process(workdir: Path, reply_delay_ms: float = 0) -> Iterator[Sink]:
    """Start bench/sink.py in its own process with a certificate from a fresh CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = workdir / "cert.pem", workdir / "key.pem", workdir / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    port_file = workdir / f"port-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), str(cert_file), str(key_file), str(port_file),
         str(reply_delay_ms)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("benchmark sink did not start")
            time.sleep(0.05)
        yield Sink("127.0.0.1", int(port_file.read_text()), ca_file, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def result_line(metric: str, value: float, baseline: float, target: float) -> str:
    return f"RESULT {metric}={value:.4g} baseline={baseline:.4g} target={target:.4g}"


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="outreach-bench-")


os.environ.setdefault("PYTHONHASHSEED", "0")
