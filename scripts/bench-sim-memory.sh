#!/usr/bin/env bash
# bench-sim-memory.sh [COUNT] — start COUNT simulated cameras in one process (release
# build) and report its resident memory once every camera listens.
# Runs inside a loopback-only network namespace (the fleet answers multicast).
# Target (issue #2): 1,000 cameras under 300 MB RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000}
LIMIT_MB=${LIMIT_MB:-300}
PEERS_DIR=${PEERS_DIR:-$(cd ../shared/peers && pwd)}
cargo build --locked --release -q -p portcullis-sim
BIN=$PWD/target/release/portcullis-sim
bash "$PEERS_DIR/netns-run.sh" bash -c '
  set -euo pipefail
  out=$(mktemp)
  "$1" --count "$2" --profile mixed > "$out" &
  pid=$!
  for _ in $(seq 1 600); do [ -s "$out" ] && break; sleep 0.1; done
  [ -s "$out" ] || { echo "the fleet did not come up"; exit 1; }
  sleep 1
  rss_kb=$(awk "/^VmRSS/ {print \$2}" /proc/$pid/status)
  fds=$(ls /proc/$pid/fd | wc -l)
  n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))[\"devices\"]))" "$out")
  kill $pid; wait $pid 2>/dev/null || true
  rss_mb=$((rss_kb / 1024))
  echo "sim-memory: cameras=$n rss_mb=$rss_mb fds=$fds limit_mb=$3"
  [ "$n" -eq "$2" ] && [ "$rss_mb" -lt "$3" ]
' _ "$BIN" "$COUNT" "$LIMIT_MB"
