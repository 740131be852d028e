"""Run every benchmark in bench/ one after the other (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "send_pipeline",
    "engine",
    "console",
    "verify",
    "monitor",
    "replies",
    "replies_text",
    "bounces",
    "scale",
    "api",
]


def main() -> int:
    status = 0
    for name in SCRIPTS:
        print(f"== bench/{name}.py", flush=True)
        status |= subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
