#!/usr/bin/env bash
# A new user's first minutes, checked the way they get them: a fresh venv, the base install only
# (no extras, no test packages), then the README's first command's job and the specimen digest.
#   scripts/smoke-install.sh shipped   # the pip that comes with the Python (no upgrade)
#   scripts/smoke-install.sh newest    # pip upgraded to the newest release first
#   scripts/smoke-install.sh floors    # every base dependency at its declared floor (pyproject's >=):
#                                      # a user's older environment that the ranges admit, and
#                                      # no C compiler (CC=false): the compiled kernels are skipped
#                                      # and everything runs on the Python path
# Every storyline module must import too, so a dependency missing from pyproject.toml fails here
# even where no command happens to reach it.
set -euo pipefail
mode="${1:-shipped}"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
pip="$work/venv/bin/python -m pip"
[ "$mode" = newest ] && $pip install -q --upgrade pip
echo "smoke-install ($mode): $($pip --version | cut -d' ' -f1-2)" >&2
constraints=()
if [ "$mode" = floors ]; then
  "$python" "$root/scripts/floor_constraints.py" "$root/pyproject.toml" > "$work/floors.txt"
  constraints=(-c "$work/floors.txt")  # pip's constraints are binding: each is installed at its floor or the install fails
fi
compiler=()
[ "$mode" = floors ] && compiler=(env CC=false)  # a machine without gcc: the install must still succeed
# from a copy without build products: setuptools reuses an up-to-date build/ (an earlier install's
# compiled kernels) instead of compiling, and an editable install leaves the kernels in the tree
mkdir "$work/src"
tar -C "$root" --exclude=./.git --exclude=./build --exclude='*.so' --exclude='*.egg-info' -cf - . | tar -C "$work/src" -xf -
"${compiler[@]}" $pip install -q "${constraints[@]}" "$work/src" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
$pip show -q storyline >/dev/null  # the install above must have happened

version="$("$work/venv/bin/storyline" --version)"
echo "smoke-install ($mode): $version" >&2
if [ "$mode" = floors ]; then
  case "$version" in *"not built"*) ;; *) echo "smoke-install: the kernels were built without a compiler?" >&2; exit 1 ;; esac
elif command -v gcc >/dev/null; then
  case "$version" in *"in use"*) ;; *) echo "smoke-install: gcc is here but the compiled kernels were not built" >&2; exit 1 ;; esac
fi

export STORYLINE_DATA_DIR="$work/data"
cd "$work"  # not the checkout: the installed package is what runs
"$work/venv/bin/python" - <<'PY'
import importlib, pkgutil, storyline
failed = []
for module in pkgutil.walk_packages(storyline.__path__, "storyline."):
    if module.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(module.name)
    except Exception as error:  # report every module, not just the first
        failed.append(f"{module.name}: {error!r}")
if failed:
    raise SystemExit("smoke-install: modules that do not import with the base install:\n  " + "\n  ".join(failed))
PY
"$work/venv/bin/storyline" demo --no-serve > "$work/demo.txt"
grep -q "^1\. " "$work/demo.txt" || { echo "smoke-install: storyline demo printed no stories" >&2; cat "$work/demo.txt" >&2; exit 1; }
specimen="$root/../shared/examples/iraq-personnel-2019.txt"
if [ -f "$specimen" ]; then
  "$work/venv/bin/storyline" digest --json "$specimen" > "$work/digest.json"
  "$work/venv/bin/python" - "$work/digest.json" <<'PY'
import json, sys
stories = json.load(open(sys.argv[1]))["stories"]
assert len(stories) == 3 and stories[0]["duplicates"] == 2, f"specimen gave {[(s['headline'], s['size']) for s in stories]}"
PY
else
  echo "smoke-install: $specimen absent; specimen digest not checked" >&2
fi
echo "smoke-install ($mode): demo and digest ran from a base install" >&2
