#!/usr/bin/env bash
# bench-apply.sh [N] [CONCURRENCY] — time `portcullis apply` (release build) of the full
# built-in baseline on N simulated cameras (mixed profiles) that take their profiles'
# real-world times to make keys and to reboot, against the critical path: each
# profile's chain measured alone, bound = max(longest chain, sum of chains / C).
# Reports wall time, the bound, their ratio (goal, issue #15: within 1.5x) and the
# apply process's peak memory. Defaults: 500 cameras, all at once.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
C=${2:-0}
cargo build --locked --release -q -p portcullis -p portcullis-sim
python3 scripts/bench/apply_bench.py --count "$N" --concurrency "$C"
