#!/usr/bin/env bash
# bench-audit.sh [COUNTS] — time `portcullis audit` (the engine, release build) over
# simulated generic-ONVIF fleets with injected round-trip latency, against the
# round-trip lower bound for the chosen concurrency; in the same run, time Home
# Assistant's ONVIF client (onvif-zeep-async) doing the same ONVIF reads on the same
# fleet at the same concurrency.
# SETTINGS lists RTT_MS:CONCURRENCY pairs (default: 100:100 200:100 200:200 250:300 300:300).
# Targets (issue #3): within 1.3x of the lower bound, at least 10x the HA client.
#
# Then the steady state (issue #19): a mixed fleet (Hikvision ISAPI and generic ONVIF)
# hardened by `portcullis apply`, so that it speaks HTTPS only, and the whole
# `portcullis audit` process timed at each RTT in STEADY_RTTS (default 20,50) for each
# size in STEADY_COUNTS (default 300,1000), with Home Assistant's client over HTTPS on the
# same cameras, the simulator's connection and handshake counts per camera, and the
# engine's peak memory; then once at STEADY_MEMORY cameras (default 5000; 0 skips it).
# Home Assistant's client is timed at each of HA_CONCURRENCY cameras at once (default 32,512:
# its best, and ours); cameras it fails to read are reported, not a stop.
# STEADY=0 skips the steady state. Needs GNU time (Debian: apt-get install time).
# BENCH_PROFILE=debug runs the tests' build instead of an optimised one (CI: a check that
# the benchmark runs, 7 minutes of build shorter; its figures are not the README's).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-100,1000}
export PEERS_DIR=${PEERS_DIR:-$(cd ../shared/peers && pwd)}
export PEERS_WORK=${PEERS_WORK:-${TMPDIR:-/tmp}/onvif-peer-clients}
[ -x "$PEERS_WORK/venv/bin/python" ] || bash "$PEERS_DIR/setup.sh" "$PEERS_WORK" >/dev/null
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  # The same command line as the tests' build resolves the same features, so this only
  # links the benchmark's binaries (`-p` of the three packages would rebuild much of the tree).
  cargo build --locked --workspace --all-targets -q
  BIN=target/debug
  echo "bench-audit: debug build (a check that the benchmark runs; the README's figures are of the release build)"
else
  cargo build --locked --release -q -p portcullis -p portcullis-sim -p portcullis-bench
  BIN=target/release
fi
for setting in ${SETTINGS:-100:100 200:100 200:200 250:300 300:300}; do
  "$BIN/portcullis-bench" --counts "$COUNTS" --rtt-ms "${setting%%:*}" --concurrency "${setting##*:}" \
    --sim "$BIN/portcullis-sim" --python "$PEERS_WORK/venv/bin/python"
done
[ "${STEADY:-1}" = 0 ] && exit 0
STEADY_BINS=(--portcullis "$BIN/portcullis" --sim "$BIN/portcullis-sim")
"$BIN/portcullis-bench-steady" "${STEADY_BINS[@]}" --counts "${STEADY_COUNTS:-300,1000}" --rtt-ms "${STEADY_RTTS:-20,50}" \
  --ha-concurrency "${HA_CONCURRENCY:-32,512}" --python "$PEERS_WORK/venv/bin/python"
if [ "${STEADY_MEMORY:-5000}" != 0 ]; then
  "$BIN/portcullis-bench-steady" "${STEADY_BINS[@]}" --counts "${STEADY_MEMORY:-5000}" --rtt-ms "${STEADY_RTTS:-20,50}" \
    --all-rtts-max 0 --ha-max 0
fi
