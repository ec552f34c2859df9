#!/usr/bin/env bash
# scripts/test-desktop.sh — every check of the desktop app, as CI runs them:
#   system packages (desktop-deps.sh) → npm ci → IPC type drift check → svelte-check →
#   eslint → vitest → cargo test (commands on Tauri's mock runtime) → UI build → app
#   build with the UI embedded → tauri-driver → E2E under Xvfb (screenshots in
#   docs/screenshots/).
# Exits non-zero if any step fails; the last line reads "desktop-tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
t0=$SECONDS
PASSED=0
FAILED=0
FAILURES=()
# Every cargo call waits for the others (shared target/, 2 cores).
CARGO=(cargo)
command -v flock >/dev/null && CARGO=(flock /tmp/portcullis-cargo.lock cargo)

phase() { echo "== [$((SECONDS - t0))s] $*"; }
step() {
  local name=$1
  shift
  phase "$name"
  if "$@"; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    FAILURES+=("$name")
    echo "!! $name failed"
  fi
}
finish() {
  phase "done"
  [ ${#FAILURES[@]} -eq 0 ] || echo "failed steps: ${FAILURES[*]}"
  echo "desktop-tests: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

# Keep WebKit's data and caches out of $HOME.
export XDG_DATA_HOME="$ROOT/target/xdg/data" XDG_CACHE_HOME="$ROOT/target/xdg/cache" XDG_CONFIG_HOME="$ROOT/target/xdg/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
export PATH="$ROOT/.ci-tools/bin:$PATH"

step "system packages" bash scripts/desktop-deps.sh || finish
step "npm ci" npm ci --prefix ui --no-audit --no-fund --loglevel=error || finish

drift_check() {
  # Regenerate the TypeScript IPC types from the Rust side; any difference is drift.
  "${CARGO[@]}" test --locked -q -p portcullis-desktop --lib export_bindings >/dev/null &&
    git diff --exit-code -- ui/src/lib/ipc/bindings ui/src/lib/ipc/commands.ts src-tauri/capabilities &&
    [ -z "$(git status --porcelain -- ui/src/lib/ipc/bindings ui/src/lib/ipc/commands.ts src-tauri/capabilities)" ]
}
step "IPC types up to date (ts-rs)" drift_check
step "svelte-check" npm run --prefix ui check --silent
step "eslint" npm run --prefix ui lint --silent
step "vitest" npm run --prefix ui test --silent
step "cargo test -p portcullis-desktop" "${CARGO[@]}" test --locked -p portcullis-desktop
step "vite build" npm run --prefix ui build --silent || finish
# A plain cargo build would load the dev server URL: embed the UI.
step "app build (custom-protocol)" "${CARGO[@]}" build --locked -p portcullis-desktop --features tauri/custom-protocol || finish

if ! command -v tauri-driver >/dev/null; then
  step "cargo install tauri-driver" "${CARGO[@]}" install tauri-driver --locked --version 2.1.0 --root "$ROOT/.ci-tools" --quiet || finish
fi
# `--workspace --test desktop` rather than `-p e2e`: features unify over the packages
# selected, so `-p e2e` would build its own copy of tokio, hyper, serde and the rest.
e2e() {
  "${CARGO[@]}" test --locked --workspace --test desktop --no-run -q &&
    PORTCULLIS_E2E=1 timeout -k 10 600 xvfb-run -a -s "-screen 0 1440x900x24" \
      "${CARGO[@]}" test --locked --workspace --test desktop -- --nocapture
}
step "e2e (Xvfb, tauri-driver, WebKitWebDriver)" e2e

# The packages (issue #16): built from the app above (a debug build: the same code, and
# no second compilation), the .deb installed with apt, its app launched on the demo
# site, then removed. Needs root for apt; skipped, and said, without it.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
step "packages: .deb and .rpm (scripts/package.sh --debug)" bash scripts/package.sh --debug deb,rpm
DEB=$(ls target/debug/bundle/deb/Portcullis_*_amd64.deb 2>/dev/null | head -1)
RPM=$(ls target/debug/bundle/rpm/Portcullis-*.rpm 2>/dev/null | head -1)
step "the .rpm is there" test -s "$RPM"
if [ -n "$DEB" ] && $SUDO true 2>/dev/null; then
  installed() {
    $SUDO apt-get install -y -qq "./$DEB" >/dev/null &&
      command -v portcullis-desktop && command -v portcullis &&
      portcullis --version && test -s /usr/share/man/man1/portcullis.1.gz &&
      test -s /usr/share/bash-completion/completions/portcullis
  }
  step "install the .deb with apt" installed
  installed_e2e() {
    PORTCULLIS_E2E_INSTALLED=$(command -v portcullis-desktop) timeout -k 10 300 xvfb-run -a -s "-screen 0 1440x900x24" \
      "${CARGO[@]}" test --locked --workspace --test desktop -- --nocapture installed_package
  }
  step "the installed app opens on its demo site (E2E)" installed_e2e
  removed() {
    $SUDO apt-get remove -y -qq --purge portcullis >/dev/null &&
      ! command -v portcullis-desktop && ! test -e /usr/bin/portcullis && ! test -e /usr/share/man/man1/portcullis.1.gz
  }
  step "remove the .deb" removed
else
  echo "packages: install check skipped (no .deb, or apt needs root and sudo asks for a password)"
fi
finish
