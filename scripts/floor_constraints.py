"""pip constraints that pin every base dependency to its declared floor (``name>=X`` -> ``name==X``).

pip installs the newest release a range allows, so a fresh install never tries the floors; a user
whose environment already holds an older release that the range admits keeps it. Session 44 found
floors that broke (datasketch 1.6.5 and py3langid 0.3.0 crashed the first ingest; the rest are in
docs/operate.md, section 1). ``scripts/smoke-install.sh floors`` installs with these constraints and
runs the demo and the specimen digest, so a floor that does not work fails CI.

Usage: python scripts/floor_constraints.py [pyproject.toml] > floors.txt
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.+!-]*)\s*$")


def floors(pyproject: Path) -> list[str]:
    """``name==floor`` of each base dependency; a dependency without a plain ``>=`` floor is an error
    (the floors install could not check it)."""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    out, bad = [], []
    for dep in deps:
        m = _FLOOR.match(dep.split(";")[0])
        if m is None:
            bad.append(dep)
        else:
            out.append(f"{m[1]}=={m[3]}")
    if bad:
        raise ValueError(f"{pyproject}: dependencies without a plain '>=' floor: {', '.join(bad)}")
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        print("\n".join(floors(path)))
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"floor_constraints: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
