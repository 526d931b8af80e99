#!/usr/bin/env bash
# Installs this Parley bundle for the current user (no root): ./install.sh [--prefix DIR]
# (default ~/.local). Run it again to update; ./install.sh --uninstall removes it (your
# conversations, settings and downloaded models stay where they are).
set -euo pipefail
prefix="$HOME/.local" remove=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --uninstall) remove=1; shift ;;
    *) echo "install.sh: unknown option $1 (use --prefix DIR or --uninstall)" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
id=io.github.parley.Parley
lib="$prefix/lib/parley"
if [ $remove = 1 ]; then
  rm -rf "$lib" "$prefix/bin/parley" "$prefix/share/applications/$id.desktop" \
    "$prefix/share/metainfo/$id.metainfo.xml" "$prefix/share/man/man1/parley.1.gz"
  find "$prefix/share/icons/hicolor" -name "$id.png" -delete 2>/dev/null || true
  echo "Parley is uninstalled. Your conversations and models are kept."
  exit 0
fi
mkdir -p "$prefix/lib" "$prefix/bin"
rm -rf "$lib.new" && cp -a "$here" "$lib.new"
rm -rf "$lib.new/share" "$lib.new/install.sh"
rm -rf "$lib" && mv "$lib.new" "$lib"
ln -sfn "$lib/parley" "$prefix/bin/parley"
for sub in applications metainfo icons man; do
  mkdir -p "$prefix/share/$sub" && cp -a "$here/share/$sub/." "$prefix/share/$sub/"
done
sed -i "s|^Exec=parley|Exec=$prefix/bin/parley|" "$prefix/share/applications/$id.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true
echo "Parley is installed: $prefix/bin/parley, and in your applications menu."
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to your PATH to run 'parley' from a terminal." ;; esac
