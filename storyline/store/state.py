"""JSON encoding of component state, numpy arrays included (base64 with dtype and shape)."""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np


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
    return json.dumps(state, default=_default, separators=(",", ":"))


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_hook)
