#!/bin/sh
# `make bench`: every benchmark in turn, then a summary of their RESULT lines (issue 20), so the
# goals that hold and those that do not are seen together. Exits non-zero if a benchmark failed.
# usage: [BENCHES="startup memory"] sh bench/all.sh PYTHON
PY=${1:-.venv/bin/python}
LOG=$(mktemp "${TMPDIR:-/tmp}/smsd-bench.XXXXXX")
failed=""
for b in ${BENCHES:-pdu_codec startup memory dispatch intake smpp credits login_flood conn_flood \
          drp_soak soak}; do
    echo "== bench/$b.py"
    "$PY" "bench/$b.py" >"$LOG.one" 2>&1
    status=$?
    cat "$LOG.one"; cat "$LOG.one" >>"$LOG"
    [ $status -eq 0 ] || failed="$failed $b"
done
echo "== summary ($(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
grep '^RESULT' "$LOG"
rm -f "$LOG" "$LOG.one"
if [ -n "$failed" ]; then
    echo "benchmarks that failed:$failed"
    exit 1
fi
