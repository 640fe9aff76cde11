"""Language identification with py3langid (its model ships inside the package)."""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import threading
from array import array
from itertools import islice
from pathlib import Path
from typing import Any, Sequence

import numpy as np

_LOCK = threading.Lock()  # held while the model loads
_LOADED: list[Any] = []  # the identifier, once loaded


def _load() -> Any:
    with _LOCK:
        if not _LOADED:
            _LOADED.append(_load_model())
    return _LOADED[0]


_PARTS = ("ptc", "pc", "classes", "nextmove", "row", "output")  # the model's arrays, in load_model's order


def _load_model() -> Any:
    """py3langid's bundled model, as ``LanguageIdentifier.from_modelpath`` builds it.

    The package ships it LZMA-compressed (about 0.7 s to decompress and unpack, on every run), so
    the arrays it holds are kept decompressed in the user cache (``$STORYLINE_CACHE_DIR`` or the
    platform's, about 70 MB) under a hash of the model file, and read from there (tens of
    milliseconds). A cache that cannot be read or written is passed by: the package's file loads."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    source = MODEL_DIR / MODEL_FILE
    folder = _cache_folder(source)
    parts = _cached(folder) if folder is not None else None
    if parts is None:
        from py3langid.modelio import load_model

        parts = load_model(source)
        if folder is not None:
            _keep(folder, parts)
    ptc, pc, classes, nextmove, row, output = parts
    return LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)


def _cache_folder(source: Path) -> Path | None:
    """The cache folder for the model file ``source``, named by a hash of its bytes (4.6 MB, a few
    milliseconds): another py3langid's model never reads this one's arrays, whatever its size and
    time; None when the file cannot be read."""
    try:
        digest = hashlib.blake2b(source.read_bytes(), digest_size=12).hexdigest()
    except OSError:
        return None
    root = os.environ.get("STORYLINE_CACHE_DIR")
    if not root:
        from platformdirs import user_cache_dir

        root = user_cache_dir("storyline", appauthor=False)
    return Path(root) / f"py3langid-{digest}"


def _cached(folder: Path) -> tuple[Any, ...] | None:
    """The model's parts from ``folder``, converted back as load_model converts them, or None."""
    try:
        got = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _PARTS}
        return (got["ptc"], got["pc"], got["classes"].tolist(), _array_of(got["nextmove"]), _array_of(got["row"]),
                got["output"].tolist())
    except Exception:  # noqa: BLE001 - missing, cut short, damaged: any of numpy's errors; loaded afresh
        return None


def _array_of(values: np.ndarray) -> array:
    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(values.tobytes())
    return out


def _keep(folder: Path, parts: tuple[Any, ...]) -> None:
    """Write the parts to ``folder`` (a temporary folder renamed into place, so a reader never
    sees half of it; a process that loses the race keeps the other's); a failure is not an error."""
    ptc, pc, classes, nextmove, row, output = parts
    arrays = {"ptc": np.asarray(ptc), "pc": np.asarray(pc), "classes": np.array(classes),
              "nextmove": np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
              "row": np.frombuffer(row, dtype=f"u{row.itemsize}"), "output": np.asarray(output, dtype=np.int64)}
    try:
        shutil.rmtree(folder, ignore_errors=True)  # one that could not be read
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=folder.parent, prefix=".partial-")
    except OSError:
        return
    try:
        for name, values in arrays.items():
            np.save(Path(tmp) / f"{name}.npy", values, allow_pickle=False)
        os.rename(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _identifier() -> Any:
    return _LOADED[0] if _LOADED else _load()


def _load_quietly() -> None:
    try:
        _load()
    except Exception:  # noqa: BLE001 - the first detect_language loads again and raises it
        pass


def preload() -> None:
    """Start loading the model in a thread (about a second from the package's LZMA file, mostly
    decompression, which runs beside Python code; tens of milliseconds from the user cache that
    :func:`_load_model` keeps): ``storyline ingest`` calls it first, so the load overlaps its imports
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
    return detect_languages([text], default)[0]


def detect_languages(texts: Sequence[str], default: str = "") -> list[str]:
    """:func:`detect_language` of each text, the classifier's byte walk done for all at once
    (the same decisions in under half the time, from a few dozen texts on)."""
    samples = [text[:300] for text in texts]
    decide = [i for i, sample in enumerate(samples) if len(tuple(islice(filter(str.isalpha, sample), 12))) == 12]
    out = [default] * len(samples)
    for start in range(0, len(decide), _BATCH):
        chunk = decide[start : start + _BATCH]
        for i, (lang, prob) in zip(chunk, _classify_all(_identifier(), [samples[i] for i in chunk])):
            out[i] = str(lang) if prob >= 0.5 else default
    return out


_BATCH = 1024  # samples walked at once (their bytes times a few int64 arrays)


_WINDOW = 6  # bytes that decide the model's DFA state (every state, every 6-byte string: one state)
_TABLES: dict[int, tuple[Any, np.ndarray, np.ndarray, np.ndarray]] = {}  # id(identifier) -> its DFA as arrays


def _tables(identifier: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """py3langid's DFA (next state, each state's row offset and feature) as numpy arrays, or None
    when the identifier lacks the attributes (another py3langid: :func:`_classify_all` falls back)."""
    held = _TABLES.get(id(identifier))
    if held is not None and held[0] is identifier:
        return held[1:]
    try:
        nextmove = np.frombuffer(identifier.tk_nextmove, dtype=f"u{identifier.tk_nextmove.itemsize}")
        rowbase = np.asarray(identifier._rowbase, dtype=np.int32)
        output = np.asarray(identifier.tk_output, dtype=np.int64)
        identifier.nb_ptc, identifier.nb_pc, identifier._encode, identifier._alias_pairs  # noqa: B018
    except (AttributeError, TypeError, ValueError):
        return None
    _TABLES[id(identifier)] = (identifier, nextmove, rowbase, output)
    return nextmove, rowbase, output


def _classify_all(identifier: Any, samples: list[str]) -> list[tuple[str, float]]:
    """``identifier.classify`` of each sample, equal to the bit.

    py3langid walks a DFA over a sample's bytes one byte at a time in Python and counts the
    features of the states it passes. Here every position's state is computed at once, as the
    state the DFA reaches from its start over the ``_WINDOW`` bytes ending there (the model's DFA
    forgets what came before), and then checked: each state must be the DFA's move from the
    state before it on that byte, so the walk is the DFA's own. A sample that fails the check
    (another model) is walked by py3langid. The scores are then computed with py3langid's
    operations on the same features in the same order (first seen first)."""
    tables = _tables(identifier)
    if tables is None or identifier.min_confidence is not None or not identifier._norm_probs:
        return [identifier.classify(s) for s in samples]
    nextmove, rowbase, output = tables
    encoded = [identifier._encode(s) for s in samples]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.int32)
    offsets = np.cumsum(lengths) - lengths
    starts = np.repeat(offsets, lengths)
    where = np.arange(len(data))
    state = np.zeros(len(data), dtype=np.int32)
    for back in range(_WINDOW - 1, -1, -1):
        at = where - back
        state = np.where(at >= starts, nextmove[rowbase[state] + data[np.maximum(at, 0)]], state)
    before = np.concatenate(([0], state[:-1]))
    before[offsets[lengths > 0]] = 0  # each sample's walk starts at state 0
    walked = nextmove[rowbase[before] + data] == state
    # each sample's features and counts in the order first seen (a Counter's), by one stable sort
    feature = output[state]
    seen = np.flatnonzero(feature >= 0)
    sample_of = np.repeat(np.arange(len(samples), dtype=np.int64), lengths)
    keys = sample_of[seen] * len(output) + feature[seen]
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    group = np.flatnonzero(np.diff(ranked, prepend=ranked[:1] - 1))  # where each key's run starts
    firsts = np.zeros(len(keys), dtype=bool)
    firsts[order[group]] = True
    counted = np.zeros(len(keys), dtype=np.int64)
    counted[order[group]] = np.diff(np.append(group, len(keys)))
    unique, counts = keys[firsts], counted[firsts]
    bounds = np.searchsorted(unique // len(output), np.arange(len(samples) + 1))
    # the batch's feature rows, converted to float32 once (the product converts them anyway)
    features, row = np.unique(unique % len(output), return_inverse=True)
    table = identifier.nb_ptc[features].astype(np.float32)
    exact = np.bincount(sample_of[~walked], minlength=len(samples)) == 0
    out = []
    for i, sample in enumerate(samples):
        if not exact[i]:
            out.append(identifier.classify(sample))
            continue
        lo, hi = bounds[i], bounds[i + 1]
        out.append(_decided(identifier, table[row[lo:hi]], counts[lo:hi], int(lengths[i])))
    return out


def _decided(identifier: Any, rows: np.ndarray, counts: np.ndarray, size: int) -> tuple[str, float]:
    """py3langid's ``classify`` from the model's rows of a sample's features (first seen first,
    as float32), their counts and its length in bytes: its ``_sparse_score`` and ``_decide``
    (norm_probs), operation for operation."""
    if len(rows):
        scores = np.log1p(counts.astype(np.float32)) @ rows + identifier.nb_pc
    else:
        scores = np.full(len(identifier.nb_classes), 0.0, dtype=np.float32)
    scores *= 1.0 / math.sqrt(size or 1)
    np.exp(scores - scores.max(), out=scores)
    scores /= scores.sum()
    for i, j in identifier._alias_pairs:
        scores[i] += scores[j]
        scores[j] = 0.0
    best = int(scores.argmax())
    return identifier.nb_classes[best], float(scores[best])
