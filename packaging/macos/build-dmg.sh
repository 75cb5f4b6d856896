#!/usr/bin/env bash
# Build photosim.app and a .dmg on macOS, then smoke-test the app copied out of the mounted .dmg.
# Run by .github/workflows/package.yml on a macOS runner, from the repository root, after the model
# was exported to build/model and the build venv (no torch) was created in build/pkg-venv:
#
#   bash packaging/macos/build-dmg.sh
#
# The app is ad-hoc signed (PyInstaller does that); notarisation needs an Apple developer identity
# (codesign --options runtime -s "Developer ID Application: ..." then xcrun notarytool) and is not done here.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' photosim/__init__.py)
ARCH=$(uname -m)
DMG=dist/photosim-$VERSION-macos-$ARCH.dmg

build/pkg-venv/bin/pyinstaller --noconfirm --log-level WARN --distpath build/pkg-dist --workpath build/pkg-work \
    packaging/photosim.spec
APP=build/pkg-dist/photosim.app
[ -x "$APP/Contents/MacOS/photosim" ] || { echo "no app bundle built" >&2; exit 1; }

STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
mkdir -p dist
rm -f "$DMG"
hdiutil create -volname "photosim $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"

# Smoke test what was built: mount the .dmg, copy the app out as a user would, run its self-test.
MOUNT=$(mktemp -d)
hdiutil attach -nobrowse -readonly -mountpoint "$MOUNT" "$DMG"
TEST=$(mktemp -d)
cp -R "$MOUNT/photosim.app" "$TEST/"
hdiutil detach "$MOUNT"
env -i HOME="$(mktemp -d)" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen \
    "$TEST/photosim.app/Contents/MacOS/photosim" --self-test
du -sh "$DMG" "$TEST/photosim.app"
