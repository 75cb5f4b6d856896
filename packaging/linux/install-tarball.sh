#!/usr/bin/env bash
# Install the unpacked photosim tarball for the current user (no root): the app in ~/.local/opt/photosim,
# `photosim` in ~/.local/bin, the menu entry, icons and AppStream data in ~/.local/share.
# Uninstall: rm -rf ~/.local/opt/photosim ~/.local/bin/photosim ~/.local/share/applications/photosim.desktop
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
mkdir -p "$prefix/opt" "$prefix/bin" "$prefix/share"
rm -rf "$prefix/opt/photosim"
mkdir -p "$prefix/opt/photosim"
cp -a "$here/photosim" "$here/_internal" "$prefix/opt/photosim/"
ln -sfn "$prefix/opt/photosim/photosim" "$prefix/bin/photosim"
cp -a "$here/share/icons" "$here/share/metainfo" "$prefix/share/"
mkdir -p "$prefix/share/applications"
sed "s|^Exec=photosim|Exec=$prefix/bin/photosim|; s|^TryExec=photosim|TryExec=$prefix/bin/photosim|" \
    "$here/share/applications/photosim.desktop" > "$prefix/share/applications/photosim.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
echo "photosim installed in $prefix/opt/photosim; run 'photosim' (add $prefix/bin to PATH if needed)"
