"""Language identification with py3langid (its model ships inside the package)."""
from __future__ import annotations

import os
import threading
from typing import Any

_LOCK = threading.Lock()  # held while the model loads
_LOADED: list[Any] = []  # the identifier, once loaded


def _load() -> Any:
    with _LOCK:
        if not _LOADED:
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

            _LOADED.append(LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True))
    return _LOADED[0]


def _identifier() -> Any:
    return _LOADED[0] if _LOADED else _load()


def _load_quietly() -> None:
    try:
        _load()
    except Exception:  # noqa: BLE001 - the first detect_language loads again and raises it
        pass


def preload() -> None:
    """Start loading the model in a thread (about 1.6 s, mostly LZMA decompression, which runs
    beside Python code): ``storyline ingest`` calls it first, so the load overlaps its imports
    and store opening instead of delaying its first batch. The first :func:`detect_language`
    waits for it; a fork waits for it too (a helper never inherits a half-loaded model's lock)."""
    if not _LOADED and not _LOCK.locked():
        threading.Thread(target=_load_quietly, name="storyline-language-model", daemon=True).start()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_LOCK.release)


def detect_language(text: str, default: str = "") -> str:
    """ISO 639-1 code of ``text``'s language, or ``default`` when the text is too short or the
    guess is unsure (probability below 0.5). The first 300 characters decide: the classifier's
    time grows with the sample, and 300 agree with 600 on all 149 pages of the six-language
    trafilatura news set and on 9,048 of 9,049 NeuS/ECB+ articles (at half the time)."""
    sample = text[:300]
    if sum(ch.isalpha() for ch in sample) < 12:
        return default
    lang, prob = _identifier().classify(sample)
    return str(lang) if prob >= 0.5 else default
