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

import os
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from .app import create_app
from .processes import SERVE_STATE, app_from_environment, serve_state, supervise, warmed


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
    # opened once here first: bad settings or an unreadable store fail now, by name, and a store
    # that needs a schema upgrade gets it once rather than from every process at the same time
    create_app(settings).state.web.store.close()
    try:
        return supervise(serve_state(settings), options, processes)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


__all__ = ["SERVE_STATE", "app_from_environment", "create_app", "serve", "warmed"]
