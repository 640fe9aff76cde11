"""Helpers shared by the training scripts, benchmarks and quality gates."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSON-lines file (evaluation data is trusted: no error reporting)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


__all__ = ["read_records"]
