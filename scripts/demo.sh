#!/usr/bin/env bash
# scripts/demo.sh — the built-in demo site: a dozen simulated cameras of every kind on
# loopback addresses (127.1.0.x), imported and audited by the Portcullis CLI. The site
# keeps running until Ctrl-C.
# Needs only a Rust toolchain (plus build tools: apt-get install build-essential pkg-config).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-12}
export PORTCULLIS_HOME=${PORTCULLIS_HOME:-$PWD/target/demo-home}
# The demo keeps its (simulated) passwords in the encrypted file vault, so it runs on
# machines without a desktop keyring. Real sites use the OS keyring.
export PORTCULLIS_VAULT=${PORTCULLIS_VAULT:-file}
export PORTCULLIS_VAULT_PASSPHRASE=${PORTCULLIS_VAULT_PASSPHRASE:-portcullis demo site}
rm -rf "$PORTCULLIS_HOME"
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
target/debug/portcullis-sim --count "$COUNT" --profile mixed "${PORTS[@]}" >"$FLEET" &
SIM=$!
trap 'kill $SIM 2>/dev/null; wait $SIM 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 300); do [ -s "$FLEET" ] && break; kill -0 $SIM 2>/dev/null || exit 1; sleep 0.1; done
echo
target/debug/portcullis inventory import "$FLEET"
echo
target/debug/portcullis inventory list
echo
echo "Auditing the site against the built-in baselines (nothing is changed on any camera)…"
target/debug/portcullis audit
echo
echo "The demo site is running; its device table (with the initial passwords) is in $FLEET."
echo "In another terminal:"
echo "  export PORTCULLIS_HOME=$PORTCULLIS_HOME PORTCULLIS_VAULT=file PORTCULLIS_VAULT_PASSPHRASE='$PORTCULLIS_VAULT_PASSPHRASE'"
echo "  target/debug/portcullis audit --json"
echo "Ctrl-C stops the site."
wait $SIM
