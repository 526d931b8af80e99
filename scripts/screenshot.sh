#!/usr/bin/env bash
# Save a screenshot of the real Parley window under Xvfb:
#   scripts/screenshot.sh [OUT.png] [--dark] [--width PX] [--welcome]
# Needs scripts/setup.sh --test first (Xvfb); uses the virtual sound server when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/screenshot.png}
shift || true
mkdir -p "$(dirname "$out")"
if [ -x ../shared/virtual-audio ]; then
  ../shared/virtual-audio start && export PULSE_SERVER=unix:/tmp/parley-pulse/sock
fi
unset QT_QPA_PLATFORM
exec xvfb-run -a -s "-screen 0 640x800x24" .venv/bin/python scripts/screenshot.py "$out" "$@"
