#!/usr/bin/env bash
# stage.sh BUNDLE VERSION: the desktop files around a built bundle, then the archives.
#   BUNDLE/share/...     the .desktop entry, AppStream metainfo and hicolor icons, laid out as
#                        under a prefix (install.sh copies them; the AppDir and .deb reuse them)
#   dist/parley-VERSION-linux-x86_64.tar.gz, dist/parley_VERSION_amd64.deb, dist/Parley.AppDir
set -euo pipefail
bundle=$1 version=$2
here=$(cd "$(dirname "$0")" && pwd)
id=io.github.parley.Parley
share="$bundle/share"
rm -rf "$share" && mkdir -p "$share/applications" "$share/metainfo" "$share/man/man1"
cp "$here/$id.desktop" "$share/applications/"
gzip -9n < "$here/parley.1" > "$share/man/man1/parley.1.gz"
cp "$here/$id.metainfo.xml" "$share/metainfo/"
python=$(command -v build/bundle-venv/bin/python || command -v python3)
"$python" "$here/icons.py" "$here/../../assets/icon.png" "$share/icons/hicolor" "$id"
cp "$here/install.sh" "$bundle/install.sh"
chmod +x "$bundle/install.sh"

dist=$(dirname "$bundle")
tar -C "$dist" -czf "$dist/parley-$version-linux-x86_64.tar.gz" "$(basename "$bundle")"

# The AppDir: what appimagetool turns into an AppImage, where it exists.
appdir="$dist/Parley.AppDir"
rm -rf "$appdir" && mkdir -p "$appdir/usr"
cp -a "$bundle" "$appdir/usr/parley"
cp -a "$share" "$appdir/usr/share"
cp "$here/$id.desktop" "$appdir/$id.desktop"
cp "$share/icons/hicolor/256x256/apps/$id.png" "$appdir/$id.png"
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/parley/parley" "$@"
RUN
chmod +x "$appdir/AppRun"
if command -v appimagetool >/dev/null; then
  ARCH=x86_64 appimagetool "$appdir" "$dist/Parley-$version-x86_64.AppImage"
fi

# The .deb: the bundle in /opt/parley, the command in /usr/bin.
if command -v dpkg-deb >/dev/null; then
  root="$dist/deb-root"
  rm -rf "$root" && mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/doc/parley"
  cp -a "$bundle" "$root/opt/parley"
  rm -rf "$root/opt/parley/share" "$root/opt/parley/install.sh"
  cp -a "$share/." "$root/usr/share/"
  ln -s /opt/parley/parley "$root/usr/bin/parley"
  cp "$here/copyright" "$root/usr/share/doc/parley/copyright"
  printf 'parley (%s) unstable; urgency=medium\n\n  * Release %s: see https://github.com/parley/parley\n\n -- The Parley developers <parley@example.org>  %s\n' \
    "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" \
    | gzip -9n > "$root/usr/share/doc/parley/changelog.gz"
  mkdir -p "$root/usr/share/lintian/overrides"
  cp "$here/lintian-overrides" "$root/usr/share/lintian/overrides/parley"
  # Wheels ship their .so files executable; shared libraries are not programs.
  find "$root/opt/parley" -type f -name '*.so*' -perm /111 -exec chmod a-x {} +
  size=$(du -sk "$root" | cut -f1)
  cat > "$root/DEBIAN/control" <<CONTROL
Package: parley
Version: $version
Section: utils
Priority: optional
Architecture: amd64
Maintainer: The Parley developers <parley@example.org>
Installed-Size: $size
Depends: libc6 (>= 2.31), libportaudio2, libxcb-cursor0, libxkbcommon-x11-0, libegl1, libgl1, libfontconfig1, libdbus-1-3
Homepage: https://github.com/parley/parley
Description: private voice assistant that runs on your computer
 Hold a key, speak, let go: Parley transcribes you, answers with a local
 language model that can read images and documents, and speaks the answer.
 Nothing leaves the computer.
CONTROL
  dpkg-deb --root-owner-group --build "$root" "$dist/parley_${version}_amd64.deb" >/dev/null
  rm -rf "$root"
  if command -v lintian >/dev/null; then
    # Every tag left is a defect: what a bundle is by nature is overridden, with reasons.
    lintian --tag-display-limit 0 "$dist/parley_${version}_amd64.deb" > "$dist/lintian.txt" 2>&1 || true
    tags=$(grep -cE '^[EW]: ' "$dist/lintian.txt" || true)
    echo "build: lintian: $tags errors and warnings (dist/lintian.txt)"
    if [ "$tags" != 0 ]; then
      grep -E '^[EW]: ' "$dist/lintian.txt" | head -20 >&2
      exit 1
    fi
  fi
fi
