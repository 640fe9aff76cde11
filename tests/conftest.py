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
