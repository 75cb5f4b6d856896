#!/usr/bin/env bash
# Build the Linux installer (.deb and tarball) and smoke-test what was built. See packaging/README.md.
#
#   bash packaging/build.sh            (or: make package)
#
# 1. export the current embedding model to ONNX with the development venv's torch (build/model);
# 2. make a separate build venv WITHOUT torch (build/pkg-venv) and freeze the app with PyInstaller;
# 3. stage and pack dist/photosim_<version>_amd64.deb and dist/photosim-<version>-linux-x86_64.tar.zst;
# 4. smoke test the ARTIFACTS, not the source tree: unpack the .deb into an empty temporary root and run
#    its `photosim --self-test` with an empty environment, a fresh HOME and no network (unshare -n), then
#    the tarball's engine-only self-test; measure sizes and the cold start; write dist/package-report.json.
#
# Environment: DEV_PYTHON (default .venv/bin/python: has torch, exports the model), PACKAGE_SKIP_TARBALL=1,
# PACKAGE_MAX_MB (default 400: the .deb must be smaller), PACKAGE_MAX_START_S (default 3: warning only).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEV_PYTHON=${DEV_PYTHON:-$ROOT/.venv/bin/python}
PKG_VENV=$ROOT/build/pkg-venv
MODEL_DIR=$ROOT/build/model
DIST=$ROOT/dist
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' photosim/__init__.py)
ARCH=amd64
DEB=$DIST/photosim_${VERSION}_${ARCH}.deb
TARBALL=$DIST/photosim-${VERSION}-linux-x86_64.tar.zst
MAX_MB=${PACKAGE_MAX_MB:-400}
MAX_START_S=${PACKAGE_MAX_START_S:-3}
START=$(date +%s)

step() { echo "== [$(( $(date +%s) - START ))s] $*"; }
die() { echo "package: error: $*" >&2; exit 1; }

[ -x "$DEV_PYTHON" ] || die "no development venv at $DEV_PYTHON (run 'make venv' first)"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "this script builds the Linux x86_64 package"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed"
command -v zstd >/dev/null || die "zstd is needed (apt-get install zstd)"

# -- 1. the model ------------------------------------------------------------------------------------
step "exporting the embedding model to ONNX (torch from $DEV_PYTHON)"
rm -rf "$MODEL_DIR"
"$DEV_PYTHON" -m photosim.core.onnx_export "$MODEL_DIR"

# -- 2. the build venv and the freeze ---------------------------------------------------------------
# Same interpreter as the dev venv (a shared libpython, which PyInstaller needs).
BASE_PYTHON=$("$DEV_PYTHON" -c 'import sys; print(sys._base_executable)')
STAMP=$PKG_VENV/.installed
if [ ! -f "$STAMP" ] || [ packaging/requirements-frozen.txt -nt "$STAMP" ] || [ requirements/constraints.txt -nt "$STAMP" ]; then
    step "creating the build venv (no torch) in $PKG_VENV"
    rm -rf "$PKG_VENV"
    "$BASE_PYTHON" -m venv "$PKG_VENV"
    quiet_pip() {  # the local mirror's "Location ... is ignored" lines are noise
        "$PKG_VENV/bin/python" -m pip install --quiet "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
    }
    quiet_pip --upgrade pip
    quiet_pip -c requirements/constraints.txt -r packaging/requirements-frozen.txt
    touch "$STAMP"
fi
if "$PKG_VENV/bin/python" -c 'import torch' 2>/dev/null; then
    die "torch is importable in the build venv; the installer must not bundle it"
fi

step "freezing with PyInstaller"
rm -rf build/pkg-dist build/pkg-work
"$PKG_VENV/bin/pyinstaller" --noconfirm --log-level WARN \
    --distpath build/pkg-dist --workpath build/pkg-work packaging/photosim.spec
BUNDLE=$ROOT/build/pkg-dist/photosim
[ -x "$BUNDLE/photosim" ] || die "PyInstaller produced no executable"
[ -f "$BUNDLE/_internal/THIRD-PARTY.md" ] || die "the third-party notice is missing from the bundle"
for forbidden in torch timm torchvision pillow_heif pillow_heif.libs; do
    [ ! -e "$BUNDLE/_internal/$forbidden" ] || die "$forbidden ended up in the bundle"
done
# Several wheels ship their libraries with debug info (numkong 44 MB -> 4 MB, libpython 23 -> 6, usearch
# 10 -> 3.5). --strip-debug keeps every symbol the dynamic linker needs. Left alone: the executable
# (PyInstaller appends the app's archive to it) and the libraries auditwheel vendored into *.libs/
# folders (patchelf moved their segments; strip breaks them: "ELF load command address/offset not
# page-aligned" for numpy's OpenBLAS). The self-tests below run on the stripped build.
if command -v strip >/dev/null; then
    before=$(du -sm "$BUNDLE" | cut -f1)
    find "$BUNDLE/_internal" -type f -name '*.so*' -not -path '*.libs/*' -exec strip --strip-debug {} + 2>/dev/null || true
    step "stripped debug info: $before MB -> $(du -sm "$BUNDLE" | cut -f1) MB"
else
    echo "package: note: strip (binutils) not installed; libraries keep their debug info"
fi

# -- 3. the .deb --------------------------------------------------------------------------------------
step "staging the .deb"
STAGE=$ROOT/build/deb-root
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/metainfo" "$STAGE/usr/share/doc/photosim"
cp -a "$BUNDLE" "$STAGE/opt/photosim"
ln -s /opt/photosim/photosim "$STAGE/usr/bin/photosim"
install -m 644 packaging/linux/photosim.desktop "$STAGE/usr/share/applications/photosim.desktop"
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$(date -u +%F)/" packaging/linux/io.github.photosim.photosim.metainfo.xml \
    > "$STAGE/usr/share/metainfo/io.github.photosim.photosim.metainfo.xml"
install -m 644 packaging/linux/copyright "$STAGE/usr/share/doc/photosim/copyright"
# `photosim watch` as a systemd user service (not enabled: `systemctl --user enable --now photosim-watch`).
install -D -m 644 packaging/linux/systemd/photosim-watch.service "$STAGE/usr/lib/systemd/user/photosim-watch.service"
install -m 644 packaging/THIRD-PARTY.md "$STAGE/usr/share/doc/photosim/THIRD-PARTY.md"
for px in 16 24 32 48 64 128 256 512; do
    install -D -m 644 "resources/icons/photosim-$px.png" "$STAGE/usr/share/icons/hicolor/${px}x${px}/apps/photosim.png"
done

# Depends: the system libraries the bundle links to but does not carry (GL, X11/xcb, fontconfig...).
# Found the way dpkg-shlibdeps would: resolve every bundled ELF's needs, keep those from outside the
# bundle, map them to their Debian packages. Qt's xcb plugin needs a few that a bare build host may
# lack (then ldd says "not found"), so those are listed by hand.
set +o pipefail  # ldd fails on the odd non-ELF *.so* name; that must not stop the build
auto_deps=$(
    find "$STAGE/opt/photosim" -type f \( -name '*.so*' -o -name photosim \) -print0 |
        LD_LIBRARY_PATH="$STAGE/opt/photosim/_internal" xargs -0 ldd 2>/dev/null |
        awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v "^$STAGE" | sort -u |
        while read -r lib; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done |
        cut -d: -f1 | sort -u | tr '\n' ' '
)
set -o pipefail
manual_deps=("libc6 (>= 2.34)" libgl1 libegl1 libfontconfig1 libfreetype6 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
             libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
             libxcb-randr0 libxcb-xfixes0)
# shellcheck disable=SC2086  # auto_deps is a space-separated list on purpose
depends=$( { printf '%s\n' "${manual_deps[@]}"; printf '%s\n' $auto_deps; } |
    awk 'NF && !seen[$1]++' | sort | paste -sd, | sed 's/,/, /g')
installed_kb=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_KB@/$installed_kb/" -e "s/@DEPENDS@/$depends/" \
    packaging/linux/control.in > "$STAGE/DEBIAN/control"
find "$STAGE" -type d -exec chmod 755 {} +
find "$STAGE/usr/share" -type f -exec chmod 644 {} +

if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$STAGE/usr/share/applications/photosim.desktop"
else
    echo "package: note: desktop-file-validate not installed; .desktop file not validated"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net --pedantic --explain "$STAGE/usr/share/metainfo/io.github.photosim.photosim.metainfo.xml" ||
        appstreamcli validate --no-net "$STAGE/usr/share/metainfo/io.github.photosim.photosim.metainfo.xml"
else
    echo "package: note: appstreamcli not installed; metainfo not validated"
fi

step "packing $DEB"
mkdir -p "$DIST"
rm -f "$DEB"
# zstd -6: 121 MB in ~15 s here; xz -6 would save ~25 MB but takes minutes on two cores (CI time).
# Every dpkg that can install it (Debian 12, Ubuntu 22.04+) reads zstd; libc6 >= 2.34 already needs those.
dpkg-deb --root-owner-group -Zzstd -z6 --build "$STAGE" "$DEB" >/dev/null
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Description:/p'

if [ "${PACKAGE_SKIP_TARBALL:-0}" != 1 ]; then
    step "packing $TARBALL"
    TSTAGE=$ROOT/build/tar-root/photosim-$VERSION
    rm -rf "$ROOT/build/tar-root"
    mkdir -p "$TSTAGE"
    cp -a "$BUNDLE/." "$TSTAGE/"
    mkdir -p "$TSTAGE/share"
    cp -a "$STAGE/usr/share/applications" "$STAGE/usr/share/icons" "$STAGE/usr/share/metainfo" "$TSTAGE/share/"
    install -m 755 packaging/linux/install-tarball.sh "$TSTAGE/install.sh"
    install -m 644 packaging/THIRD-PARTY.md "$TSTAGE/THIRD-PARTY.md"
    tar -C "$ROOT/build/tar-root" --owner=0 --group=0 -cf - "photosim-$VERSION" | zstd -6 -T0 -q -c > "$TARBALL"
fi

# -- 4. smoke test of what was built ------------------------------------------------------------------
SMOKE=$(mktemp -d "${TMPDIR:-/tmp}/photosim-smoke.XXXXXX")
trap 'rm -rf "$SMOKE"' EXIT
step "smoke test: unpacking the .deb into $SMOKE/root"
dpkg-deb -x "$DEB" "$SMOKE/root"
[ "$(readlink "$SMOKE/root/usr/bin/photosim")" = /opt/photosim/photosim ] || die "/usr/bin/photosim does not point at the app"
APP=$SMOKE/root/opt/photosim/photosim
installed_bytes=$(du -sb "$SMOKE/root" | cut -f1)

# A cold start: push the unpacked files out of the page cache (only ours; nothing else is touched).
evict() {
    "$DEV_PYTHON" - "$1" <<'PY'
import os, sys
for base, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(base, name)
        if os.path.islink(path):
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
PY
}

NETNS=()
if unshare -n true 2>/dev/null; then
    NETNS=(unshare -n)
    network="none (unshare -n)"
elif unshare -rn true 2>/dev/null; then
    NETNS=(unshare -rn)
    network="none (unshare -rn)"
else
    network="NOT isolated (unshare -n is not permitted here)"
    echo "package: warning: cannot run without network here (unshare -n refused); running with it"
fi
run_clean() {  # an empty environment, a fresh HOME, no network
    local home
    home=$(mktemp -d "$SMOKE/home.XXXXXX")
    "${NETNS[@]}" env -i HOME="$home" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 "$@"
}

step "smoke test: the installed app's --self-test (window offscreen, network: $network)"
evict "$SMOKE/root"
set +e
run_clean "$APP" --self-test --screenshot "$SMOKE/selftest-window.png" >"$SMOKE/selftest.log" 2>&1
status=$?
set -e
cat "$SMOKE/selftest.log"
[ $status -eq 0 ] || die "the installed app's self-test failed (exit $status)"
summary=$(sed -n 's/^self-test: \({.*}\)$/\1/p' "$SMOKE/selftest.log")
[ -n "$summary" ] || die "the self-test printed no summary"
cp "$SMOKE/selftest-window.png" "$DIST/selftest-window.png" 2>/dev/null || true

step "smoke test: a second (warm) start"
set +e
run_clean "$APP" --self-test >"$SMOKE/selftest-warm.log" 2>&1
status=$?
set -e
[ $status -eq 0 ] || { cat "$SMOKE/selftest-warm.log"; die "the second self-test failed (exit $status)"; }
warm=$(sed -n 's/^self-test: \({.*}\)$/\1/p' "$SMOKE/selftest-warm.log")

if [ "${PACKAGE_SKIP_TARBALL:-0}" != 1 ]; then
    step "smoke test: the tarball's engine-only self-test"
    mkdir -p "$SMOKE/tar"
    zstd -dc "$TARBALL" | tar -C "$SMOKE/tar" -xf -
    run_clean "$SMOKE/tar/photosim-$VERSION/photosim" --version
    run_clean "$SMOKE/tar/photosim-$VERSION/photosim" --self-test --no-window | tail -n 1
fi

# -- report ----------------------------------------------------------------------------------------
deb_bytes=$(stat -c %s "$DEB")
tar_bytes=$( [ -f "$TARBALL" ] && stat -c %s "$TARBALL" || echo 0)
"$DEV_PYTHON" - "$DIST/package-report.json" "$deb_bytes" "$tar_bytes" "$installed_bytes" "$summary" "$warm" \
    "$network" "$(( $(date +%s) - START ))" "$MAX_MB" "$MAX_START_S" <<'PY'
import json, sys
out, deb, tar, installed, cold, warm, network, seconds, max_mb, max_start = sys.argv[1:]
cold, warm = json.loads(cold), json.loads(warm)
report = {
    "deb_mb": round(int(deb) / 1e6, 1), "tarball_mb": round(int(tar) / 1e6, 1),
    "installed_mb": round(int(installed) / 1e6, 1),
    "cold_start_window_s": cold["window_shown_s"], "warm_start_window_s": warm["window_shown_s"],
    "cold_model_ready_s": cold["model_ready_s"], "self_test": cold, "network": network,
    "build_seconds": int(seconds),
}
with open(out, "w") as fh:
    json.dump(report, fh, indent=2)
print(f"package: .deb {report['deb_mb']} MB, tarball {report['tarball_mb']} MB, installed {report['installed_mb']} MB")
print(f"package: window visible {report['cold_start_window_s']:.2f} s after launch (cold), "
      f"{report['warm_start_window_s']:.2f} s (warm); model ready {report['cold_model_ready_s']} s; "
      f"self-test ran {cold['runtime']} on {cold['device']}, network: {network}")
if report["deb_mb"] >= float(max_mb):
    sys.exit(f"package: error: the .deb is {report['deb_mb']} MB, over the {max_mb} MB limit")
if report["cold_start_window_s"] >= float(max_start):
    print(f"package: warning: cold start {report['cold_start_window_s']:.2f} s is over the {max_start} s target "
          "(this machine is shared and noisy; see the warm figure)")
PY
step "done: $DEB"
