#!/usr/bin/env bash
# Parley's one-step set-up on a fresh Debian/Ubuntu machine: system packages, a .venv in the
# checkout, the Python packages and the offline default models. Safe to run again: every step
# skips what is already done (pip keeps the llama-cpp-python wheel it builds in its cache).
#
#   scripts/setup.sh          app + models
#   scripts/setup.sh --test   also what the test suite needs (virtual sound server, Xvfb, espeak-ng)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_pkgs=(libportaudio2 libsndfile1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1
          libfontconfig1 libdbus-1-3 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
          libxcb-render-util0 libxcb-image0 libxcb-randr0 libxcb-xinerama0 fonts-dejavu-core
          python3-venv cmake build-essential)
[ $want_test = 1 ] && apt_pkgs+=(xvfb xdotool x11-xserver-utils espeak-ng sox pulseaudio pulseaudio-utils
                                  desktop-file-utils appstream trayer x11-utils sway wtype xwayland
                                  libasound2-plugins alsa-utils)

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
# This machine's pip config may list local mirrors that do not exist; their warnings are noise.
quiet_pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
quiet_pip install -q --upgrade pip
extras="models"
[ $want_test = 1 ] && extras="models,test"
echo "setup: installing Python packages (the first time, llama-cpp-python compiles for ~7 minutes)"
quiet_pip install -q -e ".[$extras]"
# An editable install leaves Parley's own modules uncompiled; where PYTHONDONTWRITEBYTECODE
# is set, every `parley` command compiled them again (a tenth of a second at each start).
.venv/bin/python -m compileall -q app >/dev/null

echo "setup: preparing the offline default models"
.venv/bin/parley prepare

# The end-of-turn model (Smart Turn v3.2, BSD-2) ships inside one pinned pipecat-ai wheel;
# pipecat itself is not installed. Its sha256 and the model's are checked before it is used.
if ! .venv/bin/python -c "import sys; from app.models.smart_turn import smart_turn_model; sys.exit(smart_turn_model() is None)"; then
  echo "setup: fetching the end-of-turn model"
  wheel_dir=$(mktemp -d)
  trap 'rm -rf "$wheel_dir"' EXIT
  wheel_version=$(.venv/bin/python -c "from app.models.smart_turn import WHEEL_VERSION; print(WHEEL_VERSION)")
  quiet_pip download -q --no-deps --only-binary=:all: "pipecat-ai==$wheel_version" -d "$wheel_dir"
  .venv/bin/python -m app.models.smart_turn "$wheel_dir"/pipecat_ai-"$wheel_version"-py3-none-any.whl
fi
