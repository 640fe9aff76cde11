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


def _off() -> bool:
    return os.environ.get("STORYLINE_KERNELS", "1").strip().lower() in ("0", "false", "no", "off")


def _load() -> ModuleType | None:
    if _off():
        return None
    try:
        import storyline._kernels as built  # the C extension: it imports nothing of storyline's
    except ImportError:
        return None
    return built


native: ModuleType | None = _load()


def compiled() -> ModuleType | None:
    """The built kernels' module, or None (not built, or ``STORYLINE_KERNELS=0``): callers ask at
    each use, so setting :data:`native` (as the tests do to run the Python path) takes effect."""
    return native


def describe() -> str:
    """A line for ``storyline --version``: compiled, or the Python path and why."""
    if native is not None:
        return "compiled kernels: in use"
    if _off():
        return "compiled kernels: off, STORYLINE_KERNELS=0"
    return ("compiled kernels: not built (no C compiler or Python headers at install); "
            "the Python path gives the same results, slower")


__all__ = ["native", "compiled", "describe"]
