"""benchmarks/join_bounds.py: the bound it uses to say which join rows could be skipped really
bounds the join model, and the script runs on a stream (issue 20; its shares are the benchmark's
figures, not a test's)."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from conftest import DEMO, ROOT

SCRIPT = ROOT / "benchmarks" / "join_bounds.py"


def _script():
    spec = importlib.util.spec_from_file_location("join_bounds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bound_is_over_the_probability_for_any_value_of_the_unknown_features() -> None:
    jb = _script()
    from storyline.cluster.join import FEATURES, JoinModel

    model = JoinModel.load()
    rng = np.random.default_rng(7)
    x = rng.uniform(0.0, 1.0, size=(400, len(FEATURES)))
    x[:, FEATURES.index("log_size")] = np.log1p(rng.integers(1, 11, size=400))
    unknown = list(jb.EXPENSIVE)
    bound = jb.upper_bound(model, x, unknown)
    for _ in range(30):  # the unknown features anywhere in their ranges, corners included
        y = x.copy()
        for name in unknown:
            lo, hi = jb.EXPENSIVE[name]
            pick = rng.uniform(lo, hi, size=len(y))
            corner = rng.random(len(y)) < 0.5
            y[:, FEATURES.index(name)] = np.where(corner, np.where(rng.random(len(y)) < 0.5, lo, hi), pick)
        assert (model.predict(y) <= bound + 1e-12).all()
    # nothing unknown: the bound is the model's own probability
    assert np.allclose(jb.upper_bound(model, x, []), model.predict(x), rtol=0, atol=1e-12)
    # fewer unknowns never loosen it
    assert (jb.upper_bound(model, x, ["member_dense"]) <= bound + 1e-12).all()


def test_the_script_reports_bounds_and_gates_on_a_stream(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), "--rows", str(tmp_path / "rows.npz")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = int(re.match(r"([\d,]+) online rows", out.stdout).group(1).replace(",", ""))
    assert rows > 20
    shares = re.findall(r"^  (.+?)\s+(\d+\.\d) %$", out.stdout, flags=re.M)
    assert len(shares) == 9 and all(0.0 <= float(s) <= 100.0 for _, s in shares)
    again = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), "--rows", str(tmp_path / "rows.npz")],
                           capture_output=True, text=True, timeout=600)
    assert again.stdout == out.stdout  # read back from the kept rows, the same table
