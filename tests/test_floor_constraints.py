"""The floors constraints (scripts/floor_constraints.py) that ``scripts/smoke-install.sh floors`` installs
with: every base dependency pinned to its declared floor, so CI tries the oldest releases the ranges
admit (session 44: datasketch 1.6.5 and py3langid 0.3.0 were admitted and crashed the first ingest)."""
from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT as REPO

SCRIPT = REPO / "scripts" / "floor_constraints.py"
sys.path.insert(0, str(REPO / "scripts"))

from floor_constraints import floors  # noqa: E402


def test_every_base_dependency_is_pinned_to_its_floor():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = floors(REPO / "pyproject.toml")
    assert len(pins) == len(deps)
    assert "py3langid==0.4.0" in pins and "trafilatura==2.2.0" in pins
    assert "psycopg==3.2.4" in pins  # the extra is dropped: pip refuses constraints with extras
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True).stdout
    assert out.split() == pins


def test_a_dependency_without_a_floor_is_refused_by_name(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["numpy>=2.0", "requests", "rich~=13.0"]\n')
    with pytest.raises(ValueError, match="requests, rich~=13.0"):
        floors(pyproject)
    done = subprocess.run([sys.executable, str(SCRIPT), str(pyproject)], capture_output=True, text=True)
    assert done.returncode == 1 and "requests" in done.stderr and not done.stdout
