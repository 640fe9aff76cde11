#!/usr/bin/env bash
# A real Spark standalone cluster on loopback (one Master, one Worker, from pip's PySpark), and a
# check that `storyline backfill --spark spark://127.0.0.1:PORT` and `spark-submit` store the same
# stories as `--spark local[2]`. See docs/backfill.md.
#
#   scripts/spark_standalone.sh start            # prints the master URL; state in $STATE
#   scripts/spark_standalone.sh stop
#   scripts/spark_standalone.sh check [SOURCE]   # start, backfill SOURCE three ways, compare, stop
#                                                # (SOURCE: default the demo corpus)
#
# pip's PySpark ships bin/spark-class but not sbin/start-master.sh, so the daemons are started
# with spark-class directly. Everything binds to 127.0.0.1. Environment: PORT (master, default
# 7177), CORES (worker cores, default 2), STATE (default /tmp/storyline-spark), PYTHON.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
PORT=${PORT:-7177}
CORES=${CORES:-2}
STATE=${STATE:-/tmp/storyline-spark}
SPARK_HOME=${SPARK_HOME:-$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=${PYSPARK_PYTHON:-$(command -v "$PYTHON")}
# the master's REST submission server would take port 6066 for every cluster; not needed here
export SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.master.rest.enabled=false"
MASTER="spark://127.0.0.1:$PORT"

start() {
    mkdir -p "$STATE"
    if [[ -f $STATE/master.pid ]] && kill -0 "$(cat "$STATE/master.pid")" 2>/dev/null; then
        echo "already running: $MASTER (pid $(cat "$STATE/master.pid"))" >&2
        echo "$MASTER"
        return
    fi
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" \
        --webui-port $((PORT + 1)) >"$STATE/master.log" 2>&1 &
    echo $! >"$STATE/master.pid"
    wait_for "$STATE/master.log" "New state: ALIVE" master
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker "$MASTER" --host 127.0.0.1 \
        --cores "$CORES" --memory 2g --webui-port $((PORT + 2)) --work-dir "$STATE/work" >"$STATE/worker.log" 2>&1 &
    echo $! >"$STATE/worker.pid"
    wait_for "$STATE/worker.log" "Successfully registered with master" worker
    echo "$MASTER"
}

wait_for() {  # LOG PATTERN NAME: up to 120 s
    for _ in $(seq 240); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "spark $3 did not come up in 120 s; see $1" >&2
    stop
    exit 1
}

stop() {
    for name in worker master; do
        if [[ -f $STATE/$name.pid ]]; then
            pid=$(cat "$STATE/$name.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            rm -f "$STATE/$name.pid"
        fi
    done
}

check() {
    local source=${1:-$ROOT/storyline/demo/corpus.jsonl} out
    out=$(mktemp -d /tmp/storyline-spark-check.XXXXXX)
    start >/dev/null
    trap stop EXIT
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    run() {  # NAME COMMAND...
        local name=$1 t0
        shift
        t0=$SECONDS
        "$@" >"$out/$name.log" 2>&1 || { echo "$name failed:"; tail -n 20 "$out/$name.log"; exit 1; }
        "$PYTHON" -m storyline export stories --data-dir "$out/$name" >"$out/$name.stories.jsonl"
        printf '%-12s %5d s  %s stories  %s\n' "$name" $((SECONDS - t0)) \
            "$(wc -l <"$out/$name.stories.jsonl")" "$(grep -E '^  articles ' "$out/$name.log" | xargs)"
    }
    run local "$PYTHON" -m storyline backfill "$source" --spark 'local[2]' --data-dir "$out/local"
    run standalone "$PYTHON" -m storyline backfill "$source" --spark "$MASTER" --data-dir "$out/standalone"
    run submit "$SPARK_HOME/bin/spark-submit" --master "$MASTER" "$ROOT/storyline/backfill/submit.py" "$source" \
        --data-dir "$out/submit"
    grep -q "Registering app storyline-backfill" "$STATE/master.log" || { echo "the master ran no backfill"; exit 1; }
    echo "applications the master ran: $(grep -c 'Registering app storyline-backfill' "$STATE/master.log")"
    for name in standalone submit; do
        if cmp -s "$out/local.stories.jsonl" "$out/$name.stories.jsonl"; then
            echo "$name: the same stories as local[2] (export stories byte-identical)"
        else
            echo "$name: stories DIFFER from local[2]: diff $out/local.stories.jsonl $out/$name.stories.jsonl"
            exit 1
        fi
    done
    rm -rf "$out"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    check) shift; check "$@" ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
esac
