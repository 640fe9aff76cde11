"""``spark-submit`` entry point for ``storyline backfill`` (docs/backfill.md):

    spark-submit --master spark://head:7077 "$(python -c 'import storyline.backfill.submit as m; print(m.__file__)')" \\
        SOURCES... --data-dir D

takes the same arguments as ``storyline backfill``; without ``--spark`` the master is the one
``spark-submit`` was given.
"""
from __future__ import annotations

import sys

from storyline.cli import main

if __name__ == "__main__":
    sys.exit(main(["backfill", *sys.argv[1:]]))
