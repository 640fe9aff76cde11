"""The web interface: story pages, a JSON API with OpenAPI docs, and Atom / JSON feeds.

``create_app(settings)`` builds the FastAPI application; ``serve(settings, host, port)`` runs it
with uvicorn (what ``storyline serve`` and ``storyline demo`` call).

``serve(..., processes=N)`` runs N server processes on one port, each on its own socket
(:mod:`storyline.web.processes` says why and how they are supervised). Each process opens its own
store connection and keeps its own response cache; an editorial write in one is seen by the
others through the database's generation (see :mod:`storyline.web.app`). A spawned process
rebuilds the app from ``$STORYLINE_SERVE_STATE``, which :func:`serve` writes.
"""
from __future__ import annotations

import gc
import json
import logging
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from .app import create_app

SERVE_STATE = "STORYLINE_SERVE_STATE"  # the settings and log set-up handed to spawned server processes


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info",
          processes: int = 1) -> int:
    """Serve the web UI and JSON API until interrupted; returns the exit status.

    ``$STORYLINE_EDITOR_TOKEN`` enables editorial actions when the settings carry no token.
    ``processes`` > 1 serves from that many processes (one per core is the useful most).

    Raises:
        ConfigError: ``processes`` < 1, or (several processes) the address cannot be listened on.
    """
    import uvicorn

    if processes < 1:
        raise ConfigError(f"server processes must be at least 1 (got {processes})")
    if not settings.editor_token and os.environ.get("STORYLINE_EDITOR_TOKEN"):
        settings = settings.with_(editor_token=os.environ["STORYLINE_EDITOR_TOKEN"])
    # proxy headers: believed only from Settings.trusted_proxies, by the app itself (web/proxy.py);
    # log_config=None keeps the logging storyline.logs configured (-v, -q, --log-json)
    options: dict[str, Any] = dict(host=host, port=port, log_level=log_level, access_log=False, proxy_headers=False,
                                   server_header=False, log_config=None)
    if processes == 1:
        uvicorn.run(warmed(create_app(settings)), **options)
        return 0
    from .processes import supervise

    # opened once here first: bad settings or an unreadable store fail now, by name, and a store
    # that needs a schema upgrade gets it once rather than from every process at the same time
    create_app(settings).state.web.store.close()
    try:
        return supervise(_serve_state(settings), options, processes)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _serve_state(settings: Settings) -> str:
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    values["data_dir"] = str(values["data_dir"])
    handler = next(iter(logging.getLogger("storyline").handlers), None)
    from ..logs import JsonFormatter

    log = {"level": logging.getLogger("storyline").level,
           "json": bool(handler and isinstance(handler.formatter, JsonFormatter))}
    return json.dumps({"settings": values, "log": log})


def app_from_environment() -> Any:
    """The app for one spawned server process, from the state :func:`serve` left in the environment."""
    from .. import logs

    raw = os.environ.get(SERVE_STATE)
    if not raw:  # e.g. `uvicorn --factory storyline.web:app_from_environment` by hand
        raise ConfigError(f"${SERVE_STATE} is not set: start server processes with `storyline serve --workers N`")
    state = json.loads(raw)
    values = state["settings"]
    values["data_dir"] = Path(values["data_dir"])
    level = int(state["log"]["level"]) or logging.WARNING
    logs.configure(json_lines=state["log"]["json"])
    logging.getLogger("storyline").setLevel(level)  # the level the command was given, whatever the environment says
    return warmed(create_app(Settings(**values)))


def warmed(app: Any) -> Any:
    """``app`` ready to serve: its page templates compiled and the front page's queries run once
    (about 0.1 s), so that a new server process's first readers do not wait for that (tens of ms
    a page) while others queue behind them; then the loaded objects frozen (below)."""
    from . import views

    web = app.state.web
    for name in web.env.list_templates(filter_func=lambda n: n.endswith(".html")):
        web.env.get_template(name)
    with web.lock:
        views.front(web.store)  # the ranking's tables and indexes into this connection's page cache
    # what is loaded by now lives as long as the process: out of the cyclic collector's full passes,
    # which otherwise walk it all (about 100k objects, 60 ms; readers wait meanwhile)
    gc.collect()
    gc.freeze()
    return app


__all__ = ["app_from_environment", "create_app", "serve"]
