#!/usr/bin/env bash
# Regenerate every figure and plot of docs/benchmarks.md: in the virtual room, and the real device on a
# PulseAudio null sink (bench/bench_process.py).
# Usage: scripts/bench.sh [--corpus DIR] [--quick]
#   --corpus DIR  real recordings (only their dev/ split is read; default ../shared/corpus); without it the
#                 real-voice part says it skipped
#   --quick       fewer voices, seeds and minutes: a smoke run, not the published figures
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="../shared/corpus"
quick=()
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus="$2"; shift 2 ;;
        --quick) quick=(--quick); shift ;;
        *) echo "unknown option $1 (expected --corpus DIR or --quick)" >&2; exit 2 ;;
    esac
done
corpus=$(realpath -m "$corpus")
.venv/bin/python bench/bench_core.py "${quick[@]}"
.venv/bin/python bench/bench_process.py "${quick[@]}"
.venv/bin/python bench/bench_noise.py "${quick[@]}"
.venv/bin/python bench/bench_self_check.py "${quick[@]}"
.venv/bin/python bench/bench_hearing.py "${quick[@]}"
.venv/bin/python bench/bench_wakeword.py --corpus "$corpus" "${quick[@]}"
.venv/bin/python bench/bench_room.py --corpus "$corpus" "${quick[@]}"
