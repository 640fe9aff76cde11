"""benchmarks/ab_ingest.py: two checkouts' ingest of one stream, alternated, the noise beside the
difference (issue 20; the speed figures themselves are the benchmark's, not a test's)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import DEMO, ROOT

SCRIPT = ROOT / "benchmarks" / "ab_ingest.py"


def test_two_checkouts_alternate_round_by_round_with_the_paired_difference(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(DEMO.read_text(encoding="utf-8").splitlines()[:30]) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), str(stream), str(ROOT), str(ROOT), "--runs", "2"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rounds = [line.split() for line in out.stdout.splitlines() if re.match(r"\s+\d+\s+\d+\.\d+s", line)]
    assert [r[0] for r in rounds] == ["1", "2"]
    for r in rounds:  # A wall, A cpu, B wall, B cpu, B - A
        a, b, diff = float(r[1].rstrip("s")), float(r[3].rstrip("s")), float(r[5].rstrip("s"))
        assert a > 0 and b > 0 and abs((b - a) - diff) < 0.011
    assert out.stdout.startswith("30 articles; A = ")
    assert re.search(r"B - A: mean [+-]\d+\.\d+ s \([+-]\d+\.\d %\), sd \d+\.\d+ s, t [+-]?(\d+\.\d+|inf): "
                     r"(within the noise|B is faster|B is slower)", out.stdout)


def test_what_is_not_a_checkout_is_refused_with_the_reason(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and f"{tmp_path} is not a storyline checkout" in out.stderr
    one = subprocess.run([sys.executable, str(SCRIPT), str(DEMO), str(ROOT), str(ROOT), "--runs", "1"],
                         capture_output=True, text=True, timeout=120)
    assert one.returncode != 0 and "--runs must be at least 2" in one.stderr
