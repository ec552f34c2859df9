#!/usr/bin/env bash
# scripts/desktop-deps.sh — the Debian 12 packages the desktop app needs to build
# (WebKitGTK 4.1, GTK 3, libsoup 3 -dev packages: the build scripts of the gtk/webkit
# crates run pkg-config) and to be tested headless (Xvfb, WebKitWebDriver). Installs only
# what is missing; needs root or sudo. See ../shared/docs/tauri-on-linux.md §1.
set -euo pipefail
PKGS=(build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver imagemagick
  time) # GNU time: the benchmarks' CPU and peak memory of a whole command
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "desktop-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
