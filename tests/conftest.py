"""Shared fixtures: where the shared material lives, the demo corpus, a fresh data dir."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPECIMEN = SHARED / "examples" / "iraq-personnel-2019.txt"
DEMO = ROOT / "storyline" / "demo" / "corpus.jsonl"


@pytest.fixture
def specimen() -> Path:
    if not SPECIMEN.exists():
        pytest.skip(f"the specimen is not at {SPECIMEN} (needs ../shared next to the repository)")
    return SPECIMEN


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m storyline ARGS`` as a user would, output captured (so not a terminal)."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "storyline", *args], capture_output=True, text=True,
        env=full_env, input=input, timeout=timeout, cwd=ROOT,
    )


_LOCAL_HOSTS = ("localhost", "127.", "::1", "0.0.0.0")


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk only to loopback: resolving any other host fails loudly."""
    import socket

    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name and not name.startswith(_LOCAL_HOSTS):
            raise OSError(f"test tried to reach the network: {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


# -- store backends: every store test runs on SQLite and on a real, throwaway PostgreSQL ----------
_PG: dict[str, object] = {}


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server for the session (tests/pg.py), or a skip saying why there is none.
    With STORYLINE_REQUIRE_POSTGRES=1 (``make test``, so CI) a missing server fails instead."""
    from pg import PostgresServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("STORYLINE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (STORYLINE_REQUIRE_POSTGRES=1) but: {reason}")
        pytest.skip(reason)
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def compiled_kernels():  # type: ignore[no-untyped-def]
    """The compiled kernels' module, or a skip saying why it was not built. With
    STORYLINE_REQUIRE_KERNELS=1 (``make test``, so CI) a missing build fails instead: CI must not
    pass on the Python path alone."""
    from storyline import kernels

    if kernels.native is None:
        if os.environ.get("STORYLINE_REQUIRE_KERNELS") == "1":
            pytest.fail(f"the compiled kernels are required here (STORYLINE_REQUIRE_KERNELS=1) but: {kernels.describe()}")
        pytest.skip(kernels.describe())
    return kernels.native


@pytest.fixture(params=["compiled", "python"])
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the compiled kernels and again on the Python path they replace."""
    from storyline import kernels

    if request.param == "python":
        monkeypatch.setattr(kernels, "native", None)
    else:
        compiled_kernels()
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Settings for a fresh, empty store on ``backend``: a data dir, plus a new database on the
    session's PostgreSQL server for the postgresql runs."""
    from storyline.config import Settings

    if backend == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    _PG["server"] = request.getfixturevalue("postgres_server")
    return another_store(Settings(data_dir=tmp_path / "data", database_url="postgresql://"), "data")


def another_store(settings, name: str):  # type: ignore[no-untyped-def]
    """Settings for one more fresh store on the same backend as ``settings`` (a sibling data dir,
    or a new database on the same PostgreSQL server)."""
    data_dir = Path(settings.data_dir).parent / name
    if not settings.database_url:
        return settings.with_(data_dir=data_dir)
    _PG["n"] = int(_PG.get("n", 0)) + 1  # type: ignore[call-overload]
    server = _PG["server"]
    return settings.with_(data_dir=data_dir, database_url=server.create_database(f"{name}_{_PG['n']}"))  # type: ignore[attr-defined]


def store_args(settings) -> list[str]:  # type: ignore[no-untyped-def]
    """Command-line flags that select the store of ``settings``."""
    return ["--data-dir", str(settings.data_dir)] + (["--database-url", settings.database_url]
                                                      if settings.database_url else [])


def backend_settings(backend: str, data_dir: Path, request: pytest.FixtureRequest, **extra):  # type: ignore[no-untyped-def]
    """Settings for a fresh store on ``backend`` ("sqlite" or "postgresql") with ``extra`` settings;
    usable from fixtures of any scope (the PostgreSQL server is the session's)."""
    from storyline.config import Settings

    if backend == "sqlite":
        return Settings(data_dir=data_dir, **extra)
    server = request.getfixturevalue("postgres_server")
    _PG["server"] = server
    _PG["n"] = int(_PG.get("n", 0)) + 1  # type: ignore[call-overload]
    return Settings(data_dir=data_dir, database_url=server.create_database(f"web_{_PG['n']}"), **extra)
