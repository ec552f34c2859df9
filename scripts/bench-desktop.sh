#!/usr/bin/env bash
# scripts/bench-desktop.sh [DEVICES] — the desktop app's performance figures (issue #6):
#   1. startup: process start → first screen drawn with the site's devices (the UI's
#      `ui_ready`), release build, 5 runs each with an empty inventory and with DEVICES;
#   2. the DEVICES-row table scrolled top to bottom, one step per frame (frame times);
#   3. memory of the app and its WebKit processes with DEVICES loaded (RSS and PSS).
# Needs what scripts/test-desktop.sh installs (Xvfb, WebKitWebDriver, tauri-driver).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-5000}
CARGO=(cargo)
command -v flock >/dev/null && CARGO=(flock /tmp/portcullis-cargo.lock cargo)
export PATH="$ROOT/.ci-tools/bin:$PATH"
export XDG_DATA_HOME="$ROOT/target/xdg/data" XDG_CACHE_HOME="$ROOT/target/xdg/cache" XDG_CONFIG_HOME="$ROOT/target/xdg/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"

npm run --prefix ui build --silent
"${CARGO[@]}" build --release --locked -q -p portcullis-desktop --features tauri/custom-protocol
"${CARGO[@]}" build --release --locked -q --bin portcullis
APP=$ROOT/target/release/portcullis-desktop

# Two data directories: empty, and N devices imported from a CSV (addresses on loopback
# that nothing listens on: nothing is contacted at startup).
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; [ -n "${XVFB:-}" ] && kill "$XVFB" 2>/dev/null || true' EXIT
mkdir -p "$WORK/empty" "$WORK/full"
{
  echo "address,site,tags"
  for i in $(seq 0 $((N - 1))); do echo "127.3.$((i / 250)).$((i % 250 + 1)),bench,floor$((i % 7))"; done
} >"$WORK/fleet.csv"
export PORTCULLIS_VAULT=file PORTCULLIS_VAULT_PASSPHRASE=bench-only-passphrase
PORTCULLIS_HOME="$WORK/full" target/release/portcullis inventory import "$WORK/fleet.csv" >/dev/null

Xvfb :97 -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
export DISPLAY=:97
sleep 1

startup() {
  local home=$1 label=$2 runs=()
  for _ in 1 2 3 4 5; do
    local line
    line=$(PORTCULLIS_HOME="$home" PORTCULLIS_STARTUP_PROBE=1 timeout 60 "$APP" 2>/dev/null | grep -m1 '^startup_ms=')
    runs+=("${line#startup_ms=}")
  done
  local ms
  ms=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -n)
  printf 'startup (%s): %s ms; median %s ms\n' "$label" "$(echo $ms)" "$(echo "$ms" | sed -n 3p)"
}
startup "$WORK/empty" "empty inventory"
startup "$WORK/full" "$N devices"

"${CARGO[@]}" test --release --locked -q -p e2e --test bench --no-run
PORTCULLIS_BENCH=1 BENCH_DEVICES=$N PORTCULLIS_DESKTOP_BIN=$APP PORTCULLIS_HOME="$WORK/full" \
  "${CARGO[@]}" test --release --locked -q -p e2e --test bench -- --nocapture 2>&1 | grep '^bench:'
