"""``/healthz``: is the store reachable, when did a poll last succeed, which feeds are failing.

JSON, never cached. 200 when the store answers (failing feeds are reported, not fatal: one dead
feed is no reason to restart the service); 503 when the store does not answer.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..store import queries
from .http import state_of

router = APIRouter()
log = logging.getLogger("storyline.web")
PollerStatus = Callable[[], dict[str, Any]]


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def store_health(store: Any) -> dict[str, Any]:
    """Counts and feed health read from ``store`` (raises what the store raises)."""
    counts = queries.store_counts(store)  # counted once between two writes: a probe every few seconds at 1M
    feeds = store.list_feeds()
    successes = [f.last_success_at for f in feeds if f.last_success_at]
    failing = [f for f in feeds if f.consecutive_failures]
    return {
        "store": {"reachable": True, "path": str(getattr(store, "path", "")),
                  "schema_version": store.schema_version, "articles": counts["articles"],
                  "stories": counts["stories"]},
        "feeds": {
            "subscribed": len(feeds), "failing": len(failing),
            "consecutive_failures": sum(f.consecutive_failures for f in feeds),
            "last_successful_poll": _iso(max(successes)) if successes else None,
            "errors": [{"url": f.url, "consecutive_failures": f.consecutive_failures, "last_error": f.last_error,
                        "last_error_at": _iso(f.last_error_at)} for f in failing],
        },
    }


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    web = state_of(request)
    poller: PollerStatus | None = getattr(request.app.state, "poller_status", None)
    try:
        with web.lock:
            body = store_health(web.store)
        status = 200
        body = {"status": "ok", **body}
    except Exception as exc:  # any backend's failure means the same thing here: no store
        log.error("health check: the store does not answer", extra={"error": f"{type(exc).__name__}: {exc}"})
        body = {"status": "unavailable", "store": {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}}
        status = 503
    body["poller"] = poller() if poller else None
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


__all__ = ["router", "store_health"]
