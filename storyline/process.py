"""How the ``storyline`` command's own process runs: the garbage collector during an ingest, one
BLAS thread for the clusterer's small products, and the command's end after an ingest (all
measured in docs/scale.md)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator


# allocations between collections of the youngest generation during `storyline ingest` (Python's
# default: 700); see collecting_less
INGEST_GC_THRESHOLD = 50_000


# set while `storyline ingest` runs (collecting_less, which unfreezes at its end)
FREEZE_AFTER_PAUSE = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused, then restored as it was: the clusterer makes no
    reference cycles, and collections over its many small objects (its state, as built and
    encoded for a checkpoint, too) cost ~4% of a run. With :data:`FREEZE_AFTER_PAUSE` what the
    pause made is frozen after it (``gc.freeze``), so no later collection walks it either: the
    first after a batch's decisions or the consolidation walked all of it (8 passes, 0.27 s of a
    10k ingest), and a forked helper's collections copied the pages they walked."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if FREEZE_AFTER_PAUSE:
            gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def collecting_less() -> Iterator[None]:
    """Python's cyclic garbage collector runs less often meanwhile, in this process and the
    helpers it forks: an ingest makes millions of containers (articles, the clusterer's stories,
    their saved state) and almost no cycles (about 2,500 objects collected in a 10k-article
    ingest), yet every 700 allocations the collector walks the young ones, and now and then all
    of them (2.5 s of a 10k ingest's writer on a busy 2-core machine, four full passes). Every
    50,000: the same peak memory there. What is loaded before (modules, models, the store) is
    frozen out of the walks, and so is what each pause of the collector makes
    (:data:`FREEZE_AFTER_PAUSE`: the clusterer's decisions and state);
    everything is unfrozen at the end."""
    import gc

    global FREEZE_AFTER_PAUSE
    threshold, freezing = gc.get_threshold(), FREEZE_AFTER_PAUSE
    gc.freeze()
    gc.set_threshold(INGEST_GC_THRESHOLD, *threshold[1:])
    FREEZE_AFTER_PAUSE = True
    try:
        yield
    finally:
        FREEZE_AFTER_PAUSE = freezing
        gc.set_threshold(*threshold)
        gc.unfreeze()


_BLAS: Any = None  # threadpoolctl's controller of the BLAS libraries loaded (made at the first use)


def blas_limited() -> Any:
    """A context in which the BLAS libraries (numpy's OpenBLAS) run one thread, whatever the
    process's setting (:func:`storyline.config.one_blas_thread` sets the command's default before
    numpy loads; a library caller or ``$OPENBLAS_NUM_THREADS`` may set more): the clusterer's
    matrix-vector products are too small to gain from more. threadpoolctl's ``threadpool_limits``
    looks for the loaded libraries at every use (1-4 ms, scanning each shared object); the
    controller that found them is kept, so a use costs about 0.01 ms. It knows the libraries loaded
    at its first use: numpy's, which every caller has imported by then."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def end_at_once(code: int) -> None:
    """End the process now, with ``code``, without the interpreter freeing its heap object by
    object: after a 10k-article ingest that heap holds the clusterer's state (millions of
    objects), and tearing it down took 0.3-0.4 s that the user waits for nothing (docs/scale.md,
    session 39). The exit handlers still run first (logging's flush, multiprocessing's and
    ``weakref.finalize``'s clean-ups: ``atexit``), then the standard streams are flushed. The
    command has closed its store. Only when no other thread runs (else the normal exit joins it)."""
    import atexit
    import os
    import threading

    if threading.active_count() > 1:
        return
    atexit._run_exitfuncs()  # what the interpreter's exit runs before its teardown
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)


__all__ = ["FREEZE_AFTER_PAUSE", "INGEST_GC_THRESHOLD", "blas_limited", "collecting_less", "collector_paused", "end_at_once"]
