"""A real uvicorn on loopback for the API tests (not only the framework's test client): the
app is served by the same server `outreach-tui serve` runs, on a thread of its own, over a
real socket (HTTP, or HTTPS with the test PKI's certificate)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class UvicornThread:
    def __init__(self, app: Any, *, port: int = 0, certfile: Path | None = None) -> None:
        options: dict[str, Any] = {
            "host": LOOPBACK,
            "port": port or free_port(),
            "log_config": None,
            "lifespan": "on",
            "server_header": False,
        }
        if certfile is not None:
            options["ssl_certfile"] = str(certfile)
            options["ssl_keyfile"] = str(certfile)
        self.config = uvicorn.Config(app, **options)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.scheme = "https" if certfile else "http"

    @property
    def port(self) -> int:
        return int(self.config.port)

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else LOOPBACK
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
