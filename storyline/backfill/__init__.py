"""The same stages on Spark, for archives: ``storyline backfill`` (see docs/backfill.md).

Importing this package needs no PySpark; :func:`run_backfill` starts Spark (or uses the session
given) and raises :class:`SparkUnavailable` with the install hint when it cannot.
"""
from .job import SPARK_HINT, BackfillReport, SparkUnavailable, run_backfill, spark_session, with_retries
from .sources import InputFile, expand_sources

__all__ = ["BackfillReport", "InputFile", "SPARK_HINT", "SparkUnavailable", "expand_sources", "run_backfill",
           "spark_session", "with_retries"]
