"""The web interface: story pages, a JSON API with OpenAPI docs, and Atom / JSON feeds.

``create_app(settings)`` builds the FastAPI application; ``serve(settings, host, port)`` runs it
with uvicorn (what ``storyline serve`` and ``storyline demo`` call).
"""
from __future__ import annotations

import os

from ..config import Settings
from .app import create_app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Serve the web UI and JSON API until interrupted.

    ``$STORYLINE_EDITOR_TOKEN`` enables editorial actions when the settings carry no token.
    """
    import uvicorn

    if not settings.editor_token and os.environ.get("STORYLINE_EDITOR_TOKEN"):
        settings = settings.with_(editor_token=os.environ["STORYLINE_EDITOR_TOKEN"])
    # proxy headers: believed only from Settings.trusted_proxies, by the app itself (web/proxy.py);
    # log_config=None keeps the logging storyline.logs configured (-v, -q, --log-json)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                proxy_headers=False, server_header=False, log_config=None)


__all__ = ["create_app", "serve"]
