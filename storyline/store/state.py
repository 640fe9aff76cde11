"""JSON encoding of component state, numpy arrays included (base64 with dtype and shape).

Written with orjson (a clusterer's state at 10k articles is about 75 MB of JSON: orjson writes it
in a third of the standard library's time), read with the standard library, so states written
by either read the same. The JSON is the same data: numpy scalars become Python numbers through
:func:`_default` in both (orjson is not given ``OPT_SERIALIZE_NUMPY``, which would write arrays
as lists), and every float is written in its shortest round-tripping form (``1e-5`` where
``json`` writes ``1e-05``: the same float). What orjson refuses (a non-str dict key, a lone
surrogate in a string, an int beyond 64 bits, nesting deeper than 254) falls back to ``json``.
One difference is not caught: orjson writes a NaN or infinite float as ``null`` where ``json``
writes ``NaN``; component states hold none (their weights and times are finite).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import orjson


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        return {"__ndarray__": base64.b64encode(arr.tobytes()).decode(), "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, bytes):
        return {"__bytes__": base64.b64encode(obj).decode()}
    raise TypeError(f"cannot save {type(obj).__name__} in component state")


def _hook(obj: dict[str, Any]) -> Any:
    if "__ndarray__" in obj:
        data = base64.b64decode(obj["__ndarray__"])
        return np.frombuffer(data, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
    if "__bytes__" in obj:
        return base64.b64decode(obj["__bytes__"])
    return obj


def dumps(state: Any) -> str:
    return dumps_utf8(state).decode()


def dumps_utf8(state: Any) -> bytes:
    """:func:`dumps` as UTF-8 bytes, as orjson writes them: a store saves them as its text without
    the two conversions through a ``str`` (a 75 MB state with non-ASCII terms: about 0.2 s)."""
    try:
        return orjson.dumps(state, default=_default)
    except orjson.JSONEncodeError:  # ``json`` escapes every non-ASCII character: ASCII bytes
        return json.dumps(state, default=_default, separators=(",", ":")).encode()


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_hook)


def parse(text: str | bytes) -> Any:
    """Plain JSON (no arrays decoded) holding no integer beyond 64 bits (orjson reads one as a
    float): what :func:`json.loads` gives, read by orjson in about a third of the time; what
    orjson refuses (a lone surrogate, ``NaN``, a float beyond range) is read by ``json``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def loads_flat(text: str | bytes) -> Any:
    """:func:`loads` of a value with no object below its top level, such as one array
    (``dumps(vector)``), read through :func:`parse`."""
    value = parse(text)
    return _hook(value) if isinstance(value, dict) else value
