#!/usr/bin/env bash
# Debian packages the test suite needs: chromium for the real-browser tests, gcc for the compiled
# kernels (the install builds them; without a compiler it skips them), postgresql for the
# store tests that run on PostgreSQL beside SQLite (tests/pg.py starts a throwaway server from
# /usr/lib/postgresql/*/bin; the packaged cluster itself is not used).
# Skips quietly when they are present; warns when it cannot install (browser tests then skip;
# `make test` requires PostgreSQL, so its tests fail loudly rather than skip).
set -u
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Java for PySpark (storyline backfill and its tests); Spark 4 needs 17 or newer
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
# a C compiler for the compiled kernels (storyline/_kernels.c; make test requires them built)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
# valgrind for benchmarks/ab_instructions.py (instruction and cache-miss counts) and its test
command -v valgrind >/dev/null || need+=(valgrind)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-system-deps: cannot install ${need[*]} (need root and apt-get); their tests will be skipped" >&2
  exit 0
fi
echo "install-system-deps: installing ${need[*]}" >&2
apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
  || echo "install-system-deps: apt-get install ${need[*]} failed; their tests will be skipped" >&2
exit 0
