"""Rotating backups of the catalog, so a damaged catalog file is a repair, not the end.

The catalog holds every embedding: losing it means running the model over the whole library again
(hours for 80,000 photos). After an indexing run that changed something, the library copies the
catalog with SQLite's online backup API (consistent even while readers use it), at most once a day,
keeping the newest :data:`KEEP` copies in ``backups/`` inside the data folder. A backup is written
to a temporary file, checked, and renamed into place, so a crash never leaves a half backup that
looks whole.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .atomic import fsync_dir, fsync_file, replacing
from .catalog import SCHEMA_VERSION, Catalog

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
KEEP = 3
MIN_INTERVAL = 24 * 3600.0
_PREFIX, _SUFFIX = "catalog-", ".sqlite3"


@dataclass(frozen=True)
class Backup:
    path: Path
    created: float  # POSIX time the backup was taken (from its name)

    @property
    def label(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))


def backup_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / BACKUP_DIR


def list_backups(data_dir: str | os.PathLike[str]) -> list[Backup]:
    """The catalog backups in the data folder, newest first."""
    folder = backup_dir(data_dir)
    out = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
            continue
        stamp = name[len(_PREFIX) : -len(_SUFFIX)]
        try:
            created = time.mktime(time.strptime(stamp[:15], "%Y%m%d-%H%M%S"))
        except ValueError:
            continue
        out.append(Backup(entry, created))
    out.sort(key=lambda b: (b.created, b.path.name), reverse=True)
    return out


def verify_backup(path: str | os.PathLike[str]) -> tuple[bool, str]:
    """(usable, what was found): SQLite's integrity check, the schema version and the photo count."""
    try:
        db = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        return False, f"cannot open: {exc}"
    try:
        problems = [r[0] for r in db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        if problems:
            return False, f"damaged: {problems[0]}"
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            return False, f"written by a newer photosim (schema {version})"
        photos = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        indexed = db.execute("SELECT COUNT(*) FROM photos WHERE state = 'indexed'").fetchone()[0]
        folders = db.execute("SELECT COUNT(*) FROM folders").fetchone()[0]
        return True, (f"{indexed} indexed photo{'' if indexed == 1 else 's'} ({photos} in all) "
                      f"in {folders} folder{'' if folders == 1 else 's'}")
    except sqlite3.Error as exc:
        return False, f"damaged: {exc}"
    finally:
        db.close()


def make_backup(
    catalog: Catalog, data_dir: str | os.PathLike[str], *, force: bool = False, now: float | None = None,
    keep: int = KEEP, min_interval: float = MIN_INTERVAL,
) -> Path | None:
    """Back the catalog up unless the newest backup is younger than ``min_interval``; returns the new file.

    Never raises for a full or read-only disk: a missed backup is logged, the work goes on.
    """
    now = time.time() if now is None else now
    existing = list_backups(data_dir)
    if not force and existing and now - existing[0].created < min_interval:
        return None
    folder = backup_dir(data_dir)
    target = folder / f"{_PREFIX}{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}{_SUFFIX}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with replacing(target) as tmp:
            dest = sqlite3.connect(tmp)
            try:
                with catalog.locked() as source:
                    source.backup(dest)
            finally:
                dest.close()
            fsync_file(tmp)
            ok, why = verify_backup(tmp)
            if not ok:
                raise sqlite3.DatabaseError(f"the new backup failed its check: {why}")
        fsync_dir(folder)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not back up the catalog: %s", exc)
        return None
    for old in list_backups(data_dir)[keep:]:
        try:
            old.path.unlink()
        except OSError as exc:
            log.warning("could not remove an old backup %s: %s", old.path, exc)
    log.info("catalog backed up to %s", target)
    return target


def newest_good_backup(data_dir: str | os.PathLike[str]) -> tuple[Backup, str] | None:
    """The newest backup that passes :func:`verify_backup`, with what it holds."""
    for backup in list_backups(data_dir):
        ok, why = verify_backup(backup.path)
        if ok:
            return backup, why
        log.warning("backup %s is not usable: %s", backup.path, why)
    return None
