"""The summarizer's packaged model file (the scorers it holds are :mod:`storyline.scorers`)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from ..scorers import LinearScorer, Scorer, TreeEnsembleScorer, export_hist, scorer_from_dict

MODEL_FILE = "learned.v2.json"


@lru_cache(maxsize=4)
def load_model(name: str = MODEL_FILE) -> dict[str, Any]:
    """The packaged model file ``storyline/summarize/models/<name>`` as a dict (cached)."""
    path = resources.files("storyline.summarize").joinpath("models", name)
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = ["MODEL_FILE", "LinearScorer", "Scorer", "TreeEnsembleScorer", "export_hist", "load_model", "scorer_from_dict"]
