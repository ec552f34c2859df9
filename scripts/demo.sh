#!/usr/bin/env bash
# scripts/demo.sh — the built-in demo site: a dozen simulated cameras of every kind on
# loopback addresses (127.1.0.x), listed by the Portcullis CLI. Runs until Ctrl-C.
# Needs only a Rust toolchain (plus build tools: apt-get install build-essential pkg-config).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-12}
export PORTCULLIS_HOME=${PORTCULLIS_HOME:-$PWD/target/demo-home}
mkdir -p "$PORTCULLIS_HOME"
if ! command -v cc >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends build-essential pkg-config >/dev/null
fi
echo "Building Portcullis…"
cargo build --locked -q -p portcullis -p portcullis-sim
PORTS=()
# Standard ports need root; otherwise every port moves up by 10000 (80 → 10080).
[ "$(id -u)" -eq 0 ] || PORTS=(--port-offset 10000)
FLEET=$PORTCULLIS_HOME/demo-fleet.json
rm -f "$FLEET"
target/debug/portcullis-sim --count "$COUNT" --profile mixed "${PORTS[@]}" >"$FLEET" &
SIM=$!
trap 'kill $SIM 2>/dev/null; wait $SIM 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 300); do [ -s "$FLEET" ] && break; kill -0 $SIM 2>/dev/null || exit 1; sleep 0.1; done
echo
target/debug/portcullis inventory import "$FLEET"
first=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"][0]; print(d["address"], d["http_port"])' "$FLEET" 2>/dev/null || true)
echo
echo "The demo site is running. Its device table (with the initial passwords) is in $FLEET."
if [ -n "$first" ]; then
  set -- $first
  echo "Try:  curl --digest -u admin:PASSWORD http://$1:$2/ISAPI/System/deviceInfo"
fi
echo "Ctrl-C stops the site."
wait $SIM
