"""benchmarks/ingest_phases.py's core use over a run (``--cores``): the busy cores of each stretch
come from the machine's CPU ticks between its first and last sample inside the stretch, and the
idle core-seconds add up over the stretches. Samples are given, so the arithmetic is checked
exactly; the figures themselves are the benchmark's."""
from __future__ import annotations

import importlib.util
import os

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("ingest_phases_bench", ROOT / "benchmarks" / "ingest_phases.py")
P = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(P)  # type: ignore[union-attr]


def test_busy_cores_and_idle_core_seconds_per_stretch(capsys: pytest.CaptureFixture[str]) -> None:
    n = os.cpu_count() or 1
    cores = P.CoreSampler()
    cores.stop()
    start = P.START
    # 100 ticks a second per core; all cores busy for the first 10 s, then only half of them
    ticks, idle, samples = 0, 0, []
    for k in range(201):
        t = k * 0.1
        samples.append((start + t, ticks, idle))
        ticks += 10 * n
        idle += 0 if t < 10 else 5 * n
    cores.samples = samples
    assert cores.busy(start, start + 10) == pytest.approx(n)
    assert cores.busy(start + 10, start + 20) == pytest.approx(n / 2)
    assert cores.busy(start + 1, start + 1.05) != cores.busy(start + 1, start + 1.05)  # one sample: NaN
    phases = P.Phases()
    phases.spans = {"decide": [start + 10, start + 12], "consolidate (decide)": [start + 15, start + 17],
                    "refresh": [start + 17, start + 19], "refresh: related lists": [start + 18, start + 19]}
    P.print_cores(phases, cores, start + 20)
    out = capsys.readouterr().out.splitlines()
    rows = {line[:32].strip(): line[32:].split() for line in out[1:-1]}
    assert rows["startup (to the first decision)"] == ["10.00", f"{n:.2f}", "0.00"]
    assert rows["the stream (decisions, writes)"] == ["5.00", f"{n / 2:.2f}", f"{n / 2 * 5:.2f}"]
    assert rows["related lists"] == ["1.00", f"{n / 2:.2f}", f"{n / 2:.2f}"]
    assert out[-1] == f"idle core-seconds in all: {n / 2 * 10:.2f} of {n * 20:.2f}"


def test_the_script_prints_its_stretches_after_an_ingest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The whole script, in its own process (it wraps the engine's methods): a short stream's
    phases, then, with ``--cores``, its stretches and the idle core-seconds in all."""
    import subprocess
    import sys

    from conftest import DEMO

    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(DEMO.read_text(encoding="utf-8").splitlines()[:20]) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ingest_phases.py"), str(stream),
                          "--data-dir", str(tmp_path / "store"), "--cores"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("20 articles in ") and any(line.startswith("decide ") for line in lines)
    assert any(line.startswith("startup (to the first decision)") for line in lines)
    assert lines[-1].startswith("idle core-seconds in all: ")
