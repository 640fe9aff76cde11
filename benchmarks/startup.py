#!/usr/bin/env python3
"""How fast the command line starts: ``storyline --help`` and ``storyline stories``.

  python benchmarks/startup.py [--runs 5] [--script storyline]

Runs each command ``--runs`` times in fresh processes from this checkout (``PYTHONPATH`` set to
it) and prints the median and range of the wall time, next to a bare ``python -c pass`` (the
interpreter's own start, which no change here can remove) and the load average, so a figure from
a loaded machine can be told apart. ``--script`` also times an installed console script (run with the
same ``PYTHONPATH``, so the script's wrapper loads this checkout's code). Then it prints the cumulative
``python -X importtime`` figures (microseconds) of the largest imports of ``--help``: what is
left to load. ``stories`` runs on an empty, temporary data directory.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        out.append(time.perf_counter() - start)
    return out


def importtime(argv: list[str], env: dict[str, str], top: int = 8) -> list[tuple[int, str]]:
    """The ``top`` largest cumulative import times (µs) of ``python -X importtime argv``."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, capture_output=True, text=True,
                          check=False)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match.group(1)), match.group(2).count(" ") // 2, match.group(3)))
    return [(us, f"{'  ' * depth}{name}") for us, depth, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--script", help="also time this installed console script (e.g. storyline)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as data:
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -m storyline --help": [sys.executable, "-m", "storyline", "--help"],
            "python -m storyline stories": [sys.executable, "-m", "storyline", "stories", "--data-dir", data],
        }
        if args.script:
            commands[f"{args.script} --help (installed)"] = [args.script, "--help"]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} runs each\n")
        print("| command | median s | min s | max s |\n|---|---|---|---|")
        for label, argv in commands.items():
            times = timed(argv, args.runs, env)
            print(f"| {label} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} |")
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        for label, argv in (("--help", ["-m", "storyline", "--help"]),
                            ("stories", ["-m", "storyline", "stories", "--data-dir", data])):
            print(f"largest cumulative imports of `storyline {label}` (µs):")
            for us, name in importtime(argv, env):
                print(f"  {us:>8,}  {name}")
            print()


if __name__ == "__main__":
    main()
