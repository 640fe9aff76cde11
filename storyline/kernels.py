"""storyline's compiled kernels, when they were built, else None (the same values in Python).

``pip install`` builds ``storyline/_kernels.c`` when a C compiler is at hand (setup.py;
``optional``: an install without one succeeds and runs the Python path). Each kernel gives the
Python path's values to the bit, and tests compare the two on the same inputs. Setting
``STORYLINE_KERNELS=0`` in the environment keeps the Python path (for comparing, or to rule the
kernels out when chasing a problem).
"""
from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("STORYLINE_KERNELS", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        from . import _kernels
    except ImportError:
        return None
    return _kernels


native: ModuleType | None = _load()


def describe() -> str:
    """A line for ``storyline --version`` and the logs: compiled, or the Python path and why."""
    if native is not None:
        return "compiled kernels: in use"
    if os.environ.get("STORYLINE_KERNELS", "1").strip().lower() in ("0", "false", "no", "off"):
        return "compiled kernels: off, STORYLINE_KERNELS=0"
    return "compiled kernels: not built, no C compiler at install; the Python path gives the same results, slower"


__all__ = ["native", "describe"]
