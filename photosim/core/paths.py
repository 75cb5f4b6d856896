"""Where photosim keeps its files.

The data folder holds the catalog (SQLite), the vector index and the writer lock. It defaults to the
platform's user data folder and can be overridden, in order of precedence, by an explicit argument
(``--data-dir``) or the ``PHOTOSIM_DATA_DIR`` environment variable, so tests, portable installs and
power users can keep several libraries apart.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "photosim"
DATA_DIR_ENV = "PHOTOSIM_DATA_DIR"
CACHE_DIR_ENV = "PHOTOSIM_CACHE_DIR"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder to use, creating it if needed."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get(DATA_DIR_ENV):
        path = Path(os.environ[DATA_DIR_ENV])
    else:
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path = path.expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_cache_dir(data_dir: Path | None = None) -> Path:
    """Return the cache folder (thumbnails); beside an overridden data folder so tests stay isolated."""
    if os.environ.get(CACHE_DIR_ENV):
        path = Path(os.environ[CACHE_DIR_ENV])
    elif data_dir is not None and (os.environ.get(DATA_DIR_ENV) or data_dir != default_data_dir()):
        path = data_dir / "cache"
    else:
        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path = path.expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).expanduser().absolute()


def normalize_path(path: str | os.PathLike[str]) -> str:
    """Absolute, normalised path string used as the catalog's key for files and folders.

    Symlinks in the folder part are kept (not resolved) so paths look like what the user chose.
    """
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def is_within(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` itself or lies below it (both normalised)."""
    if path == folder:
        return True
    prefix = folder if folder.endswith(os.sep) else folder + os.sep
    return path.startswith(prefix)


_SYSTEM_FOLDERS = frozenset({"/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr", "/bin", "/sbin", "/lib",
                             "/lib64", "/snap"})


def not_a_photo_folder(path: str) -> str | None:
    """Why photosim will not watch this folder (a normalised path), or None.

    The root of the system and its program, device and settings folders hold no photos, and watching
    them means walking ``/proc`` and ``/sys`` (virtual, endless) and asking the system to watch every
    folder of the disk. A photo drive's root (``/media/ann/photos``, ``D:\\``) is a photo folder.
    """
    if os.name != "nt" and path == "/":
        return "/ is the whole system (programs, devices, settings), not a photo folder"
    if os.name != "nt" and path in _SYSTEM_FOLDERS:
        return f"{path} is a system folder, not a photo folder"
    return None


def folder_offline(path: str, holds_photos: bool = True, device: int | None = None) -> bool:
    """Is a watched folder unavailable now (an unplugged drive, an unmounted network share)?

    Not a folder, or unreadable: offline. An empty folder while the library holds photos from it is
    what a mount point (an fstab entry, a NAS share, ``/mnt/photos``) looks like while its drive is
    not mounted, and scanning it as it is would take every one of its photos out of the library; it
    also is what a folder emptied by hand looks like (a phone folder whose photos were moved to the
    archive). ``device``: the file system the folder was on when its photos were last found there
    (:func:`folder_device`, kept in the catalog). An empty folder still on that file system was
    emptied there: not offline, its photos go. On another one (the disk beneath the mount point),
    or with no device known (a library from before it was kept): offline, the photos are kept; the
    cost of that guess is stale entries until the folder is removed, not a re-index of a whole drive.
    """
    try:
        with os.scandir(path) as entries:
            if not holds_photos or next(entries, None) is not None:
                return False
    except OSError:  # not there, not a folder, not readable
        return True
    return device is None or folder_device(path) != device


def offline_reason(path: str, device: int | None = None) -> str:
    """Why :func:`folder_offline` said a folder is offline, in the words every view uses."""
    if not os.path.isdir(path):
        return "folder is offline or missing"
    if device is not None:  # empty, and on another file system than its photos were found on
        return "folder is empty: the drive it was on is not mounted"
    return "folder is empty (a drive that is not mounted?)"


def folder_device(path: str) -> int | None:
    """The id of the file system ``path`` is on (``st_dev``), or None where it cannot be read."""
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def display_path(path: str) -> str:
    """A path fit to show a person (and to hand to Qt or JSON): undecodable bytes become U+FFFD.

    File names that are not valid UTF-8 (Latin-1 names from old Windows drives or Samba shares) reach
    Python as ``str`` with surrogate escapes; they cannot be shown, encoded as UTF-8 or put in JSON as
    they are. The original stays the key for everything that touches the file.
    """
    return os.fsencode(path).decode("utf-8", "replace") if has_undecodable_bytes(path) else path


def has_undecodable_bytes(path: str) -> bool:
    """True when ``path`` carries bytes that are not valid UTF-8 (surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def path_json_fields(path: str, key: str = "path") -> dict[str, str]:
    """JSON fields for a path: ``key`` as display text, plus ``key_b64`` (the exact bytes) when needed.

    JSON text must be valid Unicode; a name that is not valid UTF-8 keeps its exact bytes, base64-encoded,
    so a script can still find the very file.
    """
    fields = {key: display_path(path)}
    if has_undecodable_bytes(path):
        import base64

        fields[f"{key}_b64"] = base64.b64encode(os.fsencode(path)).decode("ascii")
    return fields
