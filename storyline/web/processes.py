"""Several server processes on one port, each accepting on its own listening socket.

Why not uvicorn's own ``--workers``: its supervisor binds one socket and every process accepts
from it, so a burst of new connections goes to whichever process wakes first. Measured on the
100k store: of 32 keep-alive connections opened together, one process took 24 and the other 8;
the first then queued requests (front page p99 75-94 ms at 200/s) while the second idled. Here
each process opens its own socket with ``SO_REUSEPORT`` and the kernel spreads new connections
across them by address hash, as nginx's ``reuseport`` does.

Also here, what a server process does before it serves: :func:`app_from_environment` builds
its app from the state :func:`serve_state` wrote, and :func:`warmed` readies it (both also for
the one process of a plain ``storyline serve``).

The supervisor (:func:`supervise`) starts the processes, restarts one that dies after it has
served for a while, gives up when one dies at start (a bad app or a taken port would only die
again), and stops them all on SIGINT or SIGTERM.
"""
from __future__ import annotations

import errno
import gc
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from ..logs import JsonFormatter
from ..logs import configure as configure_logs
from .app import create_app
from .views import front

log = logging.getLogger("storyline.web")

SERVE_STATE = "STORYLINE_SERVE_STATE"  # the settings and log set-up handed to spawned server processes

BACKLOG = 2048  # uvicorn's default
STARTUP_GRACE = 10.0  # a process that dies sooner than this after its start is not restarted


def listening_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket on ``host:port`` with ``SO_REUSEPORT``: every server process binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it a
    # response written in two parts waits ~40 ms for the client's delayed ACK (measured: p90 42 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def serve_state(settings: Settings) -> str:
    """``settings`` and this process's log set-up (level, JSON lines or not), as JSON for
    :data:`SERVE_STATE`."""
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    values["data_dir"] = str(values["data_dir"])
    handler = next(iter(logging.getLogger("storyline").handlers), None)
    log = {"level": logging.getLogger("storyline").level,
           "json": bool(handler and isinstance(handler.formatter, JsonFormatter))}
    return json.dumps({"settings": values, "log": log})


def app_from_environment() -> Any:
    """The app for one spawned server process, from the state :func:`serve` left in the environment."""
    raw = os.environ.get(SERVE_STATE)
    if not raw:  # e.g. `uvicorn --factory storyline.web:app_from_environment` by hand
        raise ConfigError(f"${SERVE_STATE} is not set: start server processes with `storyline serve --workers N`")
    state = json.loads(raw)
    values = state["settings"]
    values["data_dir"] = Path(values["data_dir"])
    level = int(state["log"]["level"]) or logging.WARNING
    configure_logs(json_lines=state["log"]["json"])
    logging.getLogger("storyline").setLevel(level)  # the level the command was given, whatever the environment says
    return warmed(create_app(Settings(**values)))


def warmed(app: Any) -> Any:
    """``app`` ready to serve: its page templates compiled and the front page's queries run once
    (about 0.1 s), so that a new server process's first readers do not wait for that (tens of ms
    a page) while others queue behind them; then the loaded objects frozen (below)."""
    web = app.state.web
    for name in web.env.list_templates(filter_func=lambda n: n.endswith(".html")):
        web.env.get_template(name)
    with web.lock:
        front(web.store)  # the ranking's tables and indexes into this connection's page cache
    # what is loaded by now lives as long as the process: out of the cyclic collector's full passes,
    # which otherwise walk it all (about 100k objects, 60 ms; readers wait meanwhile)
    gc.collect()
    gc.freeze()
    return app


def _refuse_if_served(host: str, port: int) -> None:
    """``SO_REUSEPORT`` would let a second ``storyline serve`` share the port with the first and
    take half its connections; refuse when something answers there already."""
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        socket.create_connection((probe, port), timeout=1).close()
    except OSError:
        return
    raise OSError(errno.EADDRINUSE, "something is already listening there (another storyline serve?)")


def _serve_one(state: str, options: dict[str, Any]) -> None:
    """One server process (spawned): the app from ``state``, uvicorn on a socket of its own."""
    import uvicorn

    for sig in (signal.SIGINT, signal.SIGTERM):  # after uvicorn's graceful stop re-raises them: exit quietly
        signal.signal(sig, lambda *_: sys.exit(0))
    os.environ[SERVE_STATE] = state
    app = app_from_environment()
    sock = listening_socket(options["host"], options["port"])
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])


def supervise(state: str, options: dict[str, Any], processes: int) -> int:
    """Run ``processes`` server processes until SIGINT or SIGTERM; returns the exit status.

    Raises:
        OSError: the address cannot be bound (checked once, before any process starts).
    """
    _refuse_if_served(options["host"], options["port"])
    listening_socket(options["host"], options["port"], listen=False).close()  # a taken port fails here, by name
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> tuple[Any, float]:
        proc = context.Process(target=_serve_one, args=(state, options), name="storyline-web", daemon=False)
        proc.start()
        return proc, time.monotonic()

    running = [start() for _ in range(processes)]
    # where uvicorn says where it runs, at its level (`serve` asks for info): each process's own
    # line does not name the address, as its socket is handed to it
    announce = logging.getLogger("uvicorn.error")
    announce.setLevel(logging.getLevelName(str(options.get("log_level", "info")).upper()))
    announce.info("serving on http://%s:%s from %d processes (Press CTRL+C to quit)", options["host"], options["port"],
                  processes)
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (proc, started) in enumerate(running):
                if proc.is_alive() or stopping:
                    continue
                if time.monotonic() - started < STARTUP_GRACE:
                    log.error("a server process exited at start (exit code %s); stopping", proc.exitcode)
                    status, stopping = 1, True
                    break
                log.error("a server process exited (exit code %s); starting another", proc.exitcode)
                running[i] = start()
    finally:
        for proc, _ in running:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + 30
        for proc, _ in running:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
