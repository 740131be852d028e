"""The deployment files: the container's entrypoint command really serves the API and runs a
worker (run here, in the test environment: this machine has a container client but no
engine to run an image, so the image itself is built and run only where one answers), the
compose file's structure (PostgreSQL, workers, the API, healthchecks, secrets from files),
the Dockerfile's shape (small base, non-root, the app installed from this project) and the
systemd units."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api.server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOKEN = "tok-deploy-Zq8-unique-7"


def entrypoint_env(tmp_path: Path) -> dict[str, str]:
    """What the compose file gives a container: OUTREACH_CONFIG, DATABASE_URL_FILE, secrets
    as files."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "database_url").write_text(f"sqlite:///{tmp_path / 'outreach.db'}\n")
    (secrets / "api_token").write_text(TOKEN + "\n")
    (secrets / "unsubscribe_key").write_text("k" * 32 + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[operator]
id = "worker"
[sending]
unsubscribe_url = "https://outreach.example.com/unsubscribe/{{token}}"
unsubscribe_key = "file:{secrets / "unsubscribe_key"}"
[logging]
file = "{tmp_path / "outreach.log"}"
[dns]
health_checks = false
[[api.tokens]]
name = "n8n"
token = "file:{secrets / "api_token"}"
scopes = ["read"]
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        OUTREACH_CONFIG=str(config),
        DATABASE_URL_FILE=str(secrets / "database_url"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def test_the_entrypoint_serves_the_api_and_stops_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        ["sh", str(DEPLOY / "entrypoint.sh"), "serve", "--bind", "127.0.0.1", "--port", str(port)],
        env=entrypoint_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, process.stdout.read().decode() if process.stdout else ""
        assert health.status_code == 200 and health.json()["one_click_unsubscribe"] == "on"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = httpx.get(f"http://127.0.0.1:{port}/campaigns", headers=headers, timeout=5)
        assert response.status_code == 200 and response.json() == []
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: the exit a
        # service manager expects from its stop signal.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        output = process.stdout.read().decode() if process.stdout else ""
        if process.stdout:
            process.stdout.close()
    assert TOKEN not in output and "k" * 32 not in output


def test_the_entrypoint_runs_a_worker(tmp_path):
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "worker", "--once"],
        env=entrypoint_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "outreach.db").exists()  # the URL came from the secret file


def test_the_compose_file_runs_postgresql_workers_and_the_api_with_secrets_from_files():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "api", "worker"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service.get("restart") == "unless-stopped", name
    assert services["api"]["command"][0] == "serve"
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["environment"]["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    declared = compose["secrets"]
    used = {s for service in services.values() for s in service.get("secrets", [])}
    assert used <= set(declared)
    assert all(spec["file"].startswith("./secrets/") for spec in declared.values())
    # The config the services mount names only file: references for its secrets.
    config = (DEPLOY / "config.toml").read_text()
    for line in config.splitlines():
        if any(k in line for k in ("token =", "_key =", "password =")) and "=" in line:
            assert '"file:' in line or line.lstrip().startswith("#"), line


def test_the_dockerfile_is_small_non_root_and_installs_the_project():
    text = (ROOT / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert froms and all(image.endswith("-slim") or " AS " in image for image in froms)
    assert "pip wheel --no-cache-dir --wheel-dir /wheels ." in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1].split()[1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/health" in text
    assert 'ENTRYPOINT ["outreach-entrypoint"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "tests" in ignored


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("outreach-worker.service", "outreach-tui worker"),
        ("outreach-api.service", "outreach-tui serve"),
    ],
)
def test_the_systemd_units_run_the_commands_unprivileged(unit, command):
    text = (DEPLOY / "systemd" / unit).read_text()
    lines = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    assert lines["ExecStart"].endswith(command)
    assert lines["User"] == "outreach" and lines["NoNewPrivileges"] == "true"
    assert lines["Restart"] == "on-failure" and "WantedBy" in lines


def test_the_image_or_its_entrypoint_answers(tmp_path):
    """Where a container engine answers, the image is built and run; on a machine with a
    container client alone (this one), the image's ENTRYPOINT command from the Dockerfile is
    run here instead, with the same arguments: either way the command the image runs must
    answer."""
    docker = shutil.which("docker")
    engine_runs = (
        docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0
    )
    if engine_runs:
        assert docker is not None
        tag = "outreach-tui:test"
        subprocess.run([docker, "build", "-t", tag, str(ROOT)], check=True, timeout=1200)
        command = [docker, "run", "--rm", tag, "--version"]
        env = None
    else:
        entrypoint = json.loads(
            next(
                line.split(None, 1)[1]
                for line in (ROOT / "Dockerfile").read_text().splitlines()
                if line.startswith("ENTRYPOINT")
            )
        )
        assert entrypoint == ["outreach-entrypoint"]
        command = ["sh", str(DEPLOY / "entrypoint.sh"), "--version"]
        env = entrypoint_env(tmp_path)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "outreach-tui" in result.stdout
