#!/usr/bin/env bash
# bench-firmware.sh [N] [UPLOADS] [IMAGE_MB] — time a firmware upgrade of N simulated
# legacy cameras with real devices' flash and restart times (release build): the
# canary's verdict, every camera upgraded, the whole apply. Defaults: 100 cameras,
# 4 uploads at once, a 32 MB image.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -q -p portcullis -p portcullis-sim
python3 scripts/bench/firmware_bench.py --count "${1:-100}" --uploads "${2:-4}" --image-mb "${3:-32}"
