"""benchmarks/ab_instructions.py: two checkouts' clusterer work counted by cachegrind (issue 20; the
counts of a change are the benchmark's, not a test's)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, ROOT

SCRIPT = ROOT / "benchmarks" / "ab_instructions.py"


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed (scripts/install-system-deps.sh installs it)")
def test_the_same_code_counts_the_same_work_and_more_items_count_more() -> None:
    def decide(items: int) -> list[list[str]]:
        out = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), str(ROOT), str(ROOT), "--items", str(items)],
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"decide of the first {items} items of corpus.jsonl")
        return [line.split() for line in out.stdout.splitlines()[2:]]

    few, more = decide(5), decide(20)
    (_, a, a_d1, a_ll), (_, b, b_d1, b_ll), change = few
    counted = [int(x.replace(",", "")) for x in (a, a_d1, a_ll, b, b_d1, b_ll)]
    assert all(c > 0 for c in counted)  # the decisions' own work: the run to decide less the run to prepare
    assert change[:3] == ["B", "-", "A"] and re.fullmatch(r"[+-]\d+\.\d\d", change[3])
    assert abs(float(change[3])) < 1.0  # the same code: the same instructions within a percent
    # twenty articles' decisions cost more than five's (a fixed part, the first batch's set-up, is in both)
    assert int(more[0][1].replace(",", "")) > 1.2 * counted[0]


def test_what_is_not_a_checkout_is_refused_with_the_reason(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and f"{tmp_path} is not a storyline checkout" in out.stderr
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "none.jsonl"), str(ROOT), str(ROOT)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "none.jsonl: no such file" in out.stderr
