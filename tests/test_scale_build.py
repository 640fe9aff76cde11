"""benchmarks/scale.py's store build: the figures it records name the Python that ran the ingest,
since an optimized build of the same version ingests 15-18 % faster (docs/scale.md, session 30).
The speed figures themselves are the benchmark's, not a test's."""
from __future__ import annotations

import importlib.util
import platform
import sys
from pathlib import Path

import pytest

from conftest import DEMO, ROOT

_spec = importlib.util.spec_from_file_location("scale_bench", ROOT / "benchmarks" / "scale.py")
S = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(S)  # type: ignore[union-attr]


def test_a_built_store_records_and_prints_the_interpreter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(DEMO.read_text(encoding="utf-8").splitlines()[:20]) + "\n", encoding="utf-8")
    build = S.build_store(stream, tmp_path / "store")
    assert build["exit"] == 0 and build["articles"] == 20
    assert build["python"] == f"Python {platform.python_version()} ({sys.executable})"
    S.print_table(20, build, None, {"articles": 20, "stories": 1, "originals": 20})
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"MB; {build['python']}")
    # a store built before the figure was recorded prints as it did
    S.print_table(20, {k: v for k, v in build.items() if k != "python"}, None, {"articles": 20})
    assert capsys.readouterr().out.splitlines()[-1].endswith(" MB")
