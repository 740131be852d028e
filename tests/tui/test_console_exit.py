"""How `outreach-tui` (the console) ends: status 0 when the operator quits; when an
unexpected error ends it, status 70 with one line naming the log, which has the traceback
(Textual alone ends with status 0 and a traceback over the terminal, local values and all).

The real command runs in a subprocess, drawn by Textual's headless driver and driven by
TEXTUAL_PRESS; the crash is made by replacing the help key's action with one that raises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
from outreach_tui.tui.app import OutreachApp
if sys.argv.pop(1) == "crash":
    def fail(self):
        raise RuntimeError("made to fail")
    OutreachApp.action_help = fail
from outreach_tui.cli.main import main
main()
"""


def run_console(tmp_path: Path, mode: str, keys: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[logging]\nfile = "{tmp_path / "console.log"}"\n', encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver",
        "TEXTUAL_PRESS": keys,
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, "--config", str(config),
         "--db", f"sqlite:///{tmp_path / 'o.db'}", "--no-scheduler"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.timeout(180)
def test_a_crashed_console_exits_70_with_one_line_and_the_traceback_in_the_log(tmp_path):
    result = run_console(tmp_path, "crash", "question_mark")

    assert result.returncode == 70, result.stderr
    log = tmp_path / "console.log"
    assert result.stderr.strip().splitlines() == [
        f"error: the console stopped on an unexpected error; details in {log}"
    ]
    assert "Traceback" not in result.stderr + result.stdout
    logged = log.read_text(encoding="utf-8")
    assert "the console stopped on an unexpected error" in logged
    assert "Traceback" in logged and "RuntimeError: made to fail" in logged


@pytest.mark.timeout(180)
def test_a_console_the_operator_quits_exits_0(tmp_path):
    result = run_console(tmp_path, "quit", "q")

    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
