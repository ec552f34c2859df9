#!/usr/bin/env bash
# scripts/demo.sh — the built-in demo site.
#   scripts/demo.sh        the desktop app, `portcullis-desktop --demo`: a dozen simulated
#                          cameras of every kind started in-process on loopback, with their
#                          own data directory and vault. Harden them from the window.
#   scripts/demo.sh --cli  the same kind of site for the CLI: imported and audited, then left
#                          running until Ctrl-C.
# Needs a Rust toolchain and Node.js >= 20.19 (npm); installs the Debian packages it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--cli" ]; then
  bash scripts/desktop-deps.sh
  echo "Building the desktop app…"
  npm ci --prefix ui --no-audit --no-fund --loglevel=error
  npm run --prefix ui build --silent
  cargo build --locked -q -p portcullis-desktop --features tauri/custom-protocol
  # Its own simulated site, data directory and vault; nothing leaves loopback.
  exec target/debug/portcullis-desktop --demo
fi
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
# Where loopback holds only 127.0.0.1 (macOS), every camera is there on ports of its own.
if [ "$(uname -s)" = Darwin ] || [ "${PORTCULLIS_DEMO_SHARED_ADDRESS:-}" = 1 ]; then
  PORTS=(--shared-address --base-address 127.0.0.1)
fi
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
