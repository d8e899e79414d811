#!/usr/bin/env bash
# Runs one test file (or any filter scripts/run-tests.mjs accepts) N times in a row and counts the
# failures, keeping the output of each failing run. Usage:
#   scripts/flake-hunt.sh [-n RUNS] [-j PARALLEL] FILTER...
#   scripts/flake-hunt.sh -n 20 packages/server/test/runtime/observability.test.ts
# -j runs that many copies at once (load on purpose: a test that only passes on an idle machine is
# flaky). Exit status: 0 when every run passed, 1 otherwise. Logs go to $FLAKE_DIR (default a temp dir).
set -uo pipefail
runs=10
parallel=1
while getopts "n:j:" opt; do
  case "$opt" in
    n) runs=$OPTARG ;;
    j) parallel=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-j PARALLEL] FILTER..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then echo "usage: $0 [-n RUNS] [-j PARALLEL] FILTER..." >&2; exit 2; fi
cd "$(dirname "$0")/.."
dir=${FLAKE_DIR:-$(mktemp -d -t flake-hunt.XXXXXX)}
mkdir -p "$dir"
failures=0
run_one() {
  local i=$1
  shift
  if node scripts/run-tests.mjs "$@" >"$dir/run-$i.log" 2>&1; then rm -f "$dir/run-$i.log"; return 0; fi
  return 1
}
i=0
while [ $i -lt "$runs" ]; do
  pids=()
  for _ in $(seq 1 "$parallel"); do
    [ $i -ge "$runs" ] && break
    i=$((i + 1))
    run_one "$i" "$@" &
    pids+=("$!:$i")
  done
  for p in "${pids[@]}"; do
    if ! wait "${p%%:*}"; then
      failures=$((failures + 1))
      echo "run ${p##*:}: FAILED (log: $dir/run-${p##*:}.log)"
      grep -m 5 -E "^not ok|Error|expected|actual" "$dir/run-${p##*:}.log" | sed 's/^/    /'
    else
      echo "run ${p##*:}: ok"
    fi
  done
done
echo "{\"runs\":$runs,\"failures\":$failures,\"filter\":\"$*\",\"logs\":\"$dir\"}"
[ "$failures" -eq 0 ]
