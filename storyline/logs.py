"""Logging, configured once at the command-line edge.

Every module logs to a ``storyline.*`` logger and says what happened, where and why: the facts go
in ``extra`` (``feed``, ``url``, ``item``, ``status``, ``duration_ms``, ``new``, ...), so a line
reads ``storyline: info: feed polled feed=https://... status=ok new=3 duration_ms=412`` in text
and carries the same keys as fields in JSON.

The level comes from ``-v`` and ``-q`` when given (one step down or up from the default per
flag: ``-v`` info, ``-vv`` debug, ``-q`` errors only), else from ``$STORYLINE_LOG_LEVEL``
(``debug``, ``info``, ``warning``, ``error``), else ``warning`` — ``info`` for ``storyline run``.
``--log-json`` writes one JSON object per line (``time``, ``level``, ``logger``, ``message`` and
the facts) for log collectors (journald, Loki, Elasticsearch, ...).
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import IO, Any

from .errors import ConfigError

ENV_LEVEL = "STORYLINE_LOG_LEVEL"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}
# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}


def facts(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of ``record``, in the order they were given."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _plain(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``storyline: LEVEL: message key=value ...`` (values with spaces quoted)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"storyline: {record.levelname.lower()}: {record.getMessage()}"
        extra = " ".join(f"{k}={_plain(v)}" for k, v in facts(record).items())
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    the record's facts and, for an exception, ``error`` and ``traceback``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        for key, value in facts(record).items():
            doc.setdefault(key, value if isinstance(value, (int, float, bool, type(None))) else str(value))
        if record.exc_info and record.exc_info[1] is not None:
            doc["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
            doc["traceback"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def resolve_level(verbose: int = 0, quiet: int = 0, env: str | None = None, *, default: int = logging.WARNING) -> int:
    """The level ``-v``/``-q`` ask for (steps from ``default``), else ``$STORYLINE_LOG_LEVEL``'s,
    else ``default`` (WARNING; INFO for ``storyline run``, a service whose log is its report).

    Raises:
        ConfigError: ``$STORYLINE_LOG_LEVEL`` names no level.
    """
    if verbose or quiet:
        return max(logging.DEBUG, min(logging.ERROR, default - 10 * verbose + 10 * quiet))
    env = os.environ.get(ENV_LEVEL, "") if env is None else env
    if not env.strip():
        return default
    name = env.strip().lower()
    if name not in _LEVELS:
        raise ConfigError(f"{ENV_LEVEL}={env!r} is not a log level; use debug, info, warning or error")
    return _LEVELS[name]


def configure(*, verbose: int = 0, quiet: int = 0, json_lines: bool = False, stream: IO[str] | None = None,
              default: int = logging.WARNING) -> int:
    """Send the ``storyline`` loggers (and uvicorn's errors) to ``stream`` (stderr) at the
    level :func:`resolve_level` gives; returns that level."""
    level = resolve_level(verbose, quiet, default=default)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    for name in ("storyline", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level if name == "storyline" else max(level, logging.INFO))
        logger.propagate = False
    return level


__all__ = ["ENV_LEVEL", "JsonFormatter", "TextFormatter", "configure", "facts", "resolve_level"]
