"""benchmarks/scale.py's store build: the figures it records name the Python that ran the ingest,
since an optimized build of the same version ingests 15-18 % faster (docs/scale.md, session 30);
on PostgreSQL each size is its own database, and the store it reads is the one it built.
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


def test_a_postgresql_store_is_built_in_its_own_database_and_read_from_it(tmp_path: Path, postgres_server) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(DEMO.read_text(encoding="utf-8").splitlines()[:20]) + "\n", encoding="utf-8")
    stream_link = tmp_path / f"stream-20-{S.STREAM_VERSION}.jsonl"
    stream.rename(stream_link)
    url = S.size_database(postgres_server.admin_url, 20)
    assert url.endswith("/storyline_scale_20") and S.size_database(postgres_server.admin_url, 20) == url  # made once
    data_dir, build = S.ensure_store(20, tmp_path, database_url=url)
    assert build["exit"] == 0 and build["articles"] == 20 and build["db_mb"] > 0
    assert not (data_dir / "storyline.db").exists()  # nothing written to SQLite
    counts = S.store_counts(data_dir, url)
    assert counts["articles"] == 20 and counts["stories"] >= 1
    sample = S.sample_ids(data_dir, database_url=url)
    assert sample["stories"] and set(sample["stories"]) <= set(_story_ids(url))
    assert S.ensure_store(20, tmp_path, database_url=url) == (data_dir, build)  # reused, not built again


def _story_ids(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM stories WHERE size > 0")]
