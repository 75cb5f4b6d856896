"""Launching the desktop app from the command line (bare ``photosim``).

Kept apart from :mod:`photosim.cli` so the command line never imports Qt unless the app is wanted.

On a minimal Debian or Ubuntu without a desktop, Qt's xcb platform plugin cannot load: some X client
libraries are missing, and Qt aborts the process (SIGABRT, "could not load the Qt platform plugin
xcb", no Python traceback). So before Qt is imported, the libraries are looked for here and a missing
one gives the exact ``apt install`` line instead of a crash.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys

#: What Qt 6's xcb plugin loads (``ldd`` of PySide6's libqxcb.so), and the Debian/Ubuntu package of each.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will pick its X11 (xcb) plugin: Linux, and no other platform asked for."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if platform:
        return platform == "xcb"
    return env.get("XDG_SESSION_TYPE", "").lower() != "wayland" or not env.get("WAYLAND_DISPLAY")


def missing_xcb_packages(loader: object = None) -> list[str]:
    """Debian packages of the xcb plugin's libraries that cannot be loaded here (empty: all present)."""
    load = loader or ctypes.CDLL
    missing = []
    for soname, package in XCB_LIBRARIES.items():
        try:
            load(soname)
        except OSError:
            missing.append(package)
    return missing


def missing_libraries_message(packages: list[str]) -> str:
    return (
        "photosim: error: the desktop app cannot start: Qt needs system libraries that are missing "
        f"({', '.join(packages)}).\n"
        f"Install them with:\n    sudo apt install {' '.join(packages)}\n"
        "(the command line works without them: 'photosim --help')"
    )


def launch_app(args: argparse.Namespace) -> int:
    if uses_xcb():
        missing = missing_xcb_packages()
        if missing:
            print(missing_libraries_message(missing), file=sys.stderr)
            return 2
    try:
        from .gui.app import run_app
    except ImportError as exc:
        print(f"photosim: error: the desktop app is not available ({exc}); install it with "
              f"'pip install PySide6-Essentials', or use 'photosim --help' for the command line", file=sys.stderr)
        return 2
    find = getattr(args, "find", None)
    if find is not None:
        find = os.path.abspath(find)
    return run_app(data_dir=args.data_dir, verbose=args.verbose, find=find)


def main(argv: list[str] | None = None) -> int:
    """``python -m photosim.app_launcher --missing``: the Debian packages Qt still needs here (for `make run`)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--missing"]:
        missing = missing_xcb_packages() if uses_xcb() else []
        print(" ".join(missing))
        return 0
    print("usage: python -m photosim.app_launcher --missing", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
