"""Run the web app in a background thread on a free loopback port (tests, screenshots, benchmarks)."""
from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """``with ServerThread(app) as base_url: ...`` serves ``app`` with uvicorn until the block ends."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int | None = None, timeout: float = 15.0) -> None:
        self.host, self.port = host, port or free_port(host)
        self.timeout = timeout
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                lifespan="off", proxy_headers=False)  # the app decides whom to believe (web/proxy.py)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="storyline-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the web server did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=self.timeout)


__all__ = ["ServerThread", "free_port"]
