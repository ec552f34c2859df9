#!/usr/bin/env bash
# scripts/test.sh — run every test of Portcullis, installing what the tests need first.
#
# On a fresh Debian/Ubuntu machine (root, or sudo) with a Rust toolchain:
#   apt packages  python3-venv, iproute2, build tools (and nodejs/npm when node is missing)
#   peers         ../shared/peers/setup.sh: Home Assistant's ONVIF client, npm onvif,
#                 python wsdiscovery (the third-party oracle for the simulator)
#   cargo-deny    into .ci-tools/ (crates.io)
# Then: fmt, clippy, cargo-deny, unit and integration tests, the third-party checks and
# the reliability campaign (ignored tests), the multicast tests inside a loopback-only
# network namespace, the simulator's memory benchmark, brief runs of the fuzz targets
# (scripts/fuzz.sh: needs a nightly toolchain, skipped without), and the desktop app's checks
# (scripts/test-desktop.sh). The last line is "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${PORTCULLIS_SHARED:-$ROOT/../shared}
export PEERS_DIR; PEERS_DIR=$(cd "$SHARED/peers" && pwd)
export PEERS_WORK=${PEERS_WORK:-${TMPDIR:-/tmp}/onvif-peer-clients}
export CARGO_TERM_COLOR=never
T0=$SECONDS
phase() { echo "== [$((SECONDS - T0))s] $*"; }
# Free space where target/ lives: a full run needs about 6 GB (target/ peaks at 4.0 GB in
# CI, plus the cargo registry and tauri-driver's build); printed so a failed build is
# explained.
disk() { df -h --output=avail . | tail -1 | tr -d ' '; }
echo "disk: $(disk) free"
if [ "$(df -k --output=avail . | tail -1)" -lt $((6 * 1024 * 1024)) ]; then
  echo "test.sh: warning: less than 6 GB free here; the build may stop with 'No space left on device'" >&2
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# 1. System packages.
APT_PKGS=(build-essential pkg-config python3 python3-venv iproute2 ca-certificates dbus-daemon dbus-bin gnome-keyring poppler-utils)
command -v node >/dev/null && command -v npm >/dev/null || APT_PKGS+=(nodejs npm)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  phase "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The desktop app (src-tauri, e2e) is in the workspace: its build scripts need WebKitGTK's -dev packages.
bash scripts/desktop-deps.sh
command -v cargo >/dev/null || { echo "test.sh: no Rust toolchain: install rustup (https://rustup.rs) and rerun" >&2; exit 2; }

# 2. Third-party clients.
phase "peers setup"
bash "$PEERS_DIR/setup.sh" "$PEERS_WORK"

# 3. cargo-deny.
export PATH="$ROOT/.ci-tools/bin:$PATH"
if ! command -v cargo-deny >/dev/null; then
  phase "cargo install cargo-deny"
  cargo install cargo-deny --locked --root "$ROOT/.ci-tools" --quiet
fi

# 4. Static checks.
phase "cargo fmt --check"
cargo fmt --all -- --check
phase "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
phase "platform gates: what runs where, and what stands in its place (tests/tidy.rs checks each has one)"
scripts/platform-gates.sh
phase "cargo deny"
cargo deny --log-level error check licenses bans sources

# 5. Tests. Output is kept to count results at the end.
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
phase "build tests (while the network is there)"
cargo test --locked --workspace --no-run -q
phase "unit and integration tests"
cargo test --locked --workspace 2>&1 | tee -a "$LOG"
phase "third-party checks (ignored tests, except multicast)"
cargo test --locked --workspace -- --ignored --skip netns_ --skip keyring_ --skip busy_ 2>&1 | tee -a "$LOG"
phase "a loaded machine (busy threads on every core: alone, so that it loads nothing else)"
cargo test --locked --workspace -- --ignored busy_ 2>&1 | tee -a "$LOG"
phase "OS keyring tests (Secret Service: gnome-keyring-daemon in a private D-Bus session)"
KEYRING_TMP=$(mktemp -d)
mkdir -p "$KEYRING_TMP/data" "$KEYRING_TMP/run" && chmod 700 "$KEYRING_TMP/run"
# The unlocked daemon may own org.freedesktop.secrets a moment after it returns; a test
# that asks before then has D-Bus start a second, locked daemon, which wants a prompt and
# fails (seen once in CI: "NoSession"). So wait (10 s at most) until the name is owned.
XDG_DATA_HOME=$KEYRING_TMP/data XDG_RUNTIME_DIR=$KEYRING_TMP/run dbus-run-session -- bash -c \
  'echo -n ci-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
   for _ in $(seq 1 100); do
     dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
     sleep 0.1
   done &&
   cargo test --locked --offline --workspace -- --ignored keyring_' 2>&1 | tee -a "$LOG"
rm -rf "$KEYRING_TMP"
phase "multicast tests in a loopback-only network namespace"
$SUDO env PATH="$PATH" PEERS_DIR="$PEERS_DIR" PEERS_WORK="$PEERS_WORK" \
  bash "$PEERS_DIR/netns-run.sh" cargo test --locked --offline --workspace -- --ignored netns_ 2>&1 | tee -a "$LOG"

# 6. Benchmark with a target: 1,000 simulated cameras under 300 MB.
phase "simulator memory benchmark"
scripts/bench-sim-memory.sh 1000 2>&1 | tee -a "$LOG"
if [ -n "${PORTCULLIS_CI:-}" ]; then
  # Only the simulator's memory benchmark uses the release build; CI's disk is better
  # spent on the app's.
  rm -rf target/release
fi
phase "audit benchmark on the tests' build (a check that it runs: timing targets are not tests)"
# The steady state small (100 cameras at 20 ms), on the debug build (an optimised build
# took 7.5 of CI's 60 minutes): the README's figures are of the release build's full run.
BENCH_PROFILE=debug SETTINGS=250:300 STEADY_COUNTS=100 STEADY_RTTS=20 STEADY_MEMORY=0 \
  scripts/bench-audit.sh 100 2>&1 | tee -a "$LOG"

phase "fuzz targets, 20 s each (scripts/fuzz.sh; skipped without a nightly toolchain; the build is most of the phase)"
scripts/fuzz.sh 20 2>&1 | tee -a "$LOG"
if [ -n "${PORTCULLIS_CI:-}" ]; then
  # The fuzz build is a second, instrumented build of every dependency: nothing later uses it.
  rm -rf fuzz/target
fi

phase "desktop app (UI checks, IPC tests, E2E under Xvfb; screenshots in docs/screenshots)"
scripts/test-desktop.sh 2>&1 | tee -a "$LOG"

passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$LOG" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed;' "$LOG" | awk '{s += $1} END {print s + 0}')
# The desktop script's own steps (type drift, svelte-check, eslint, vitest, E2E …).
passed=$((passed + $(grep -Eo '^desktop-tests: [0-9]+ passed' "$LOG" | awk '{s += $2} END {print s + 0}')))
failed=$((failed + $(grep -Eo '^desktop-tests: [0-9]+ passed, [0-9]+ failed' "$LOG" | awk '{s += $4} END {print s + 0}')))
phase "done (disk: $(disk) free)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
