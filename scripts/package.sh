#!/usr/bin/env bash
# scripts/package.sh — build the installable packages of this machine's platform with
# Tauri's bundler (the tauri CLI from npm, ui/node_modules; nothing is downloaded from
# elsewhere, which is why there is no AppImage: its bundler fetches linuxdeploy).
#
#   scripts/package.sh [--debug] [BUNDLES]   BUNDLES: deb,rpm (the default on Linux)
#
# Linux: .deb and .rpm with the desktop app, the `portcullis` CLI, its manual pages and
# shell completions, in target/{release,debug}/bundle/. Windows (nsis, msi) and macOS (app,
# dmg) are configured in src-tauri/tauri.conf.json and run from the same command there;
# signing is left to placeholders (certificateThumbprint, signingIdentity).
# Icons: `ui/node_modules/.bin/tauri icon icons/portcullis.svg -o src-tauri/icons` (then
# remove the android/, ios/ and Store logos it also makes).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=release
DEBUG=()
if [ "${1:-}" = "--debug" ]; then
  PROFILE=debug
  DEBUG=(--debug)
  shift
fi
case "$(uname -s)" in
  Darwin) DEFAULT_BUNDLES=app,dmg ;;
  MINGW* | MSYS* | CYGWIN*) DEFAULT_BUNDLES=nsis,msi ;;
  *) DEFAULT_BUNDLES=deb,rpm ;;
esac
BUNDLES=${1:-$DEFAULT_BUNDLES}
EXE=""
case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) EXE=.exe ;; esac
CARGO=(cargo)
command -v flock >/dev/null && CARGO=(flock /tmp/portcullis-cargo.lock cargo)

[ -x ui/node_modules/.bin/tauri ] || npm ci --prefix ui --no-audit --no-fund --loglevel=error
PROFILE_FLAG=()
[ "$PROFILE" = release ] && PROFILE_FLAG=(--release)
# ${a[@]+"${a[@]}"}: an empty array under `set -u` on macOS's bash 3.2.
"${CARGO[@]}" build --locked -q ${PROFILE_FLAG[@]+"${PROFILE_FLAG[@]}"} -p portcullis

# What goes in beside the app: the CLI, its manual pages and completions.
STAGE=target/package
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/completions"
CLI="$STAGE/bin/portcullis$EXE"
cp "target/$PROFILE/portcullis$EXE" "$CLI"
"$CLI" man --out "$STAGE/man" >/dev/null
"$CLI" completions bash >"$STAGE/completions/portcullis.bash"
"$CLI" completions zsh >"$STAGE/completions/_portcullis"
"$CLI" completions fish >"$STAGE/completions/portcullis.fish"
"$CLI" completions powershell >"$STAGE/completions/portcullis.ps1"
gzip -9n "$STAGE"/man/*.1

cd src-tauri
# The bundler builds the app with its UI embedded (beforeBuildCommand builds the UI).
flock_run=()
command -v flock >/dev/null && flock_run=(flock /tmp/portcullis-cargo.lock)
${flock_run[@]+"${flock_run[@]}"} ../ui/node_modules/.bin/tauri build ${DEBUG[@]+"${DEBUG[@]}"} --ci --bundles "$BUNDLES"
ls -l ../target/"$PROFILE"/bundle/*/*.{deb,rpm} 2>/dev/null || true
