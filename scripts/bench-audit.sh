#!/usr/bin/env bash
# bench-audit.sh [COUNTS] — time `portcullis audit` (the engine, release build) over
# simulated generic-ONVIF fleets with injected round-trip latency, against the
# round-trip lower bound for the chosen concurrency; in the same run, time Home
# Assistant's ONVIF client (onvif-zeep-async) doing the same ONVIF reads on the same
# fleet at the same concurrency.
# SETTINGS lists RTT_MS:CONCURRENCY pairs (default: 100:100 200:100 200:200 250:300 300:300).
# Targets (issue #3): within 1.3x of the lower bound, at least 10x the HA client.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-100,1000}
export PEERS_DIR=${PEERS_DIR:-$(cd ../shared/peers && pwd)}
export PEERS_WORK=${PEERS_WORK:-${TMPDIR:-/tmp}/onvif-peer-clients}
[ -x "$PEERS_WORK/venv/bin/python" ] || bash "$PEERS_DIR/setup.sh" "$PEERS_WORK" >/dev/null
cargo build --locked --release -q -p portcullis-sim -p portcullis-bench
for setting in ${SETTINGS:-100:100 200:100 200:200 250:300 300:300}; do
  target/release/portcullis-bench --counts "$COUNTS" --rtt-ms "${setting%%:*}" --concurrency "${setting##*:}" \
    --python "$PEERS_WORK/venv/bin/python"
done
