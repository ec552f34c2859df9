#!/usr/bin/env bash
# scripts/platform-gates.sh — every platform gate in the product code (cfg(unix),
# cfg(windows), cfg(target_os …)) with the lines around it: what runs where, and what stands
# in its place elsewhere. tests/tidy.rs fails on a gate without a counterpart.
set -euo pipefail
cd "$(dirname "$0")/.."
git grep -n -E '#\[cfg\((not\()?(any\()?(unix|windows|target_os)|cfg!\((unix|windows|target_os)' \
  -- 'crates/*.rs' 'src-tauri/*.rs' 'build.rs' ':!**/tests/**' | while IFS=: read -r file line rest; do
  echo "$file:$line: ${rest#"${rest%%[![:space:]]*}"}"
  before=$(sed -n "$((line - 1))p" "$file")
  case $before in *"// elsewhere:"*) echo "    ${before#*// }" ;; esac
done
