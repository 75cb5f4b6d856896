"""``photosim check``: is the library healthy, and ``--repair``: bring it back when it is not.

What is checked, in the order a repair needs it:

1. the catalog (SQLite's integrity check plus photosim's own invariants): it holds every embedding,
   so a damaged catalog is restored from the newest good backup (:mod:`photosim.core.backup`), or,
   with no backup, salvaged row by row into a new file; the damaged file is kept beside it;
2. the vector index (a cache of the catalog's embeddings): its checksum, its keys against the
   catalog's indexed photos, and photos that no search can reach; repaired from the catalog without
   running the model;
3. the backups themselves (each must open and pass the integrity check).

A repair ends with a scan of every folder, so photos added since the backup are indexed again and
nothing on disk is missed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .backup import list_backups, newest_good_backup, verify_backup
from .catalog import SCHEMA_VERSION, Catalog, CatalogDamagedError, CatalogError, is_corruption
from .embedder import resolve_backbone
from .library import CATALOG_FILE, Library, WriterLock, index_file_name
from .paths import resolve_data_dir
from .vectors import IndexFileError, VectorIndex, file_checksum

log = logging.getLogger(__name__)

OK, WARN, BAD = "ok", "warning", "problem"


@dataclass
class Finding:
    level: str  # OK, WARN or BAD
    subject: str  # "catalog", "index", "backups"
    text: str


@dataclass
class CheckReport:
    """What ``photosim check`` found; healthy when nothing is a problem (warnings allowed)."""

    data_dir: Path
    findings: list[Finding] = field(default_factory=list)
    catalog_damaged: bool = False
    catalog_inconsistent: bool = False
    index_needs_repair: bool = False
    unreachable: list[int] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.level == BAD for f in self.findings)

    def add(self, level: str, subject: str, text: str) -> None:
        self.findings.append(Finding(level, subject, text))

    def lines(self) -> list[str]:
        marks = {OK: "ok     ", WARN: "warning", BAD: "PROBLEM"}
        return [f"{marks[f.level]}  {f.subject:8s} {f.text}" for f in self.findings]


def check_library(data_dir: str | os.PathLike[str] | None = None, *, model: str | None = None) -> CheckReport:
    """Check the catalog, the vector index and the backups without changing anything."""
    data = resolve_data_dir(data_dir)
    report = CheckReport(data)
    backbone = resolve_backbone(model)
    catalog_path = data / CATALOG_FILE
    if not catalog_path.exists():
        report.add(BAD, "catalog", f"no catalog in {data} (nothing indexed yet: 'photosim index FOLDER')")
        _check_backups(report)
        return report
    catalog: Catalog | None = None
    try:
        catalog = Catalog(catalog_path, readonly=True)
        damage = catalog.damage()
        rules = [] if damage else catalog.invariant_problems()
        if damage:
            report.catalog_damaged = True
            for problem in damage[:10]:
                report.add(BAD, "catalog", f"damaged: {problem}")
        elif rules:
            report.catalog_inconsistent = True
            for problem in rules:
                report.add(BAD, "catalog", problem)
        else:
            counts = catalog.counts()
            folders = catalog.folders()
            report.add(OK, "catalog", f"intact: {counts['indexed']} indexed, {counts['pending']} pending, "
                                      f"{counts['failed']} failed, in {len(folders)} folder{'' if len(folders) == 1 else 's'}")
            _check_index(report, catalog, data, backbone.model_id, backbone.dim)
    except CatalogDamagedError as exc:
        report.catalog_damaged = True
        report.add(BAD, "catalog", f"damaged: {_cause(exc)}")
    except CatalogError as exc:
        report.add(BAD, "catalog", str(exc))
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise
        report.catalog_damaged = True
        report.add(BAD, "catalog", f"damaged: {exc}")
    finally:
        if catalog is not None:
            catalog.close()
    _check_backups(report)
    return report


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__
    return str(cause) if cause is not None else str(exc)


def _check_index(report: CheckReport, catalog: Catalog, data: Path, model_id: str, dim: int) -> None:
    path = data / index_file_name(model_id)
    want = catalog.indexed_ids(model_id)
    if not path.exists():
        if len(want):
            report.index_needs_repair = True
            report.add(BAD, "index", f"the vector index file is missing ({len(want)} photos to rebuild it from)")
        else:
            report.add(OK, "index", "empty library, no index yet")
        return
    recorded = {catalog.get_meta(f"index.{model_id}.checksum"), catalog.get_meta(f"index.{model_id}.checksum_next")}
    recorded.discard(None)
    try:
        actual = file_checksum(path)
    except OSError as exc:
        report.index_needs_repair = True
        report.add(BAD, "index", f"cannot read the index file: {exc}")
        return
    if actual not in recorded:
        report.index_needs_repair = True
        report.add(BAD, "index", "the index file's checksum does not match the one recorded (damaged, or left "
                                 "by an interrupted save)")
        return
    try:
        index = VectorIndex.load(path, dim, checksum=actual)
    except IndexFileError as exc:
        report.index_needs_repair = True
        report.add(BAD, "index", str(exc))
        return
    index.set_exact_keys(_saved_exact_keys(catalog, model_id))
    have = index.keys()
    missing = np.setdiff1d(want, have)
    extra = np.setdiff1d(have, want)
    if len(missing) or len(extra):
        report.index_needs_repair = True
        report.add(BAD, "index", f"{len(have)} vectors for {len(want)} indexed photos: {len(missing)} missing, "
                                 f"{len(extra)} left over")
        return
    unreachable = find_unreachable(index)
    if unreachable:
        report.index_needs_repair = True
        report.unreachable = unreachable
        report.add(BAD, "index", f"{len(unreachable)} photo(s) can never be found by a search (unreachable in "
                                 f"the search graph): ids {', '.join(map(str, unreachable[:10]))}"
                                 + ("..." if len(unreachable) > 10 else ""))
        return
    exact = len(index.exact_keys)
    report.add(OK, "index", f"checksum matches; {len(have)} vectors, one per indexed photo; every photo findable"
                            + (f" ({exact} the search graph cannot reach are searched exactly beside it)" if exact else ""))


def _saved_exact_keys(catalog: Catalog, model_id: str) -> list[int]:
    """The index's exact side list, saved with it by :meth:`Library.save_index`."""
    try:
        return [int(k) for k in json.loads(catalog.get_meta(f"index.{model_id}.exact_keys") or "[]")]
    except (ValueError, TypeError):
        return []


def find_unreachable(index: VectorIndex) -> list[int]:
    """Keys of photos that no search finds: a search of the graph for their own vector misses them,
    and they are not in the index's exact side list (which every search scores exactly)."""
    return [int(k) for k in np.setdiff1d(index.unreachable_keys(), index.exact_keys)]


def _check_backups(report: CheckReport) -> None:
    backups = list_backups(report.data_dir)
    if not backups:
        report.add(WARN, "backups", "no catalog backup yet (one is made after an indexing run, at most daily)")
        return
    good = 0
    for backup in backups:
        ok, why = verify_backup(backup.path)
        good += ok
        report.add(OK if ok else WARN, "backups", f"{backup.label}: {why}")
    if not good:
        report.add(WARN, "backups", "no usable backup: a damaged catalog could only be salvaged")


# -- repair ----------------------------------------------------------------------------------------
@dataclass
class RepairReport:
    restored_from: str | None = None
    salvaged: int | None = None
    damaged_copy: Path | None = None
    index_rebuilt: bool = False
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        log.warning("repair: %s", text)
        self.lines.append(text)


def repair_catalog_and_index(
    data_dir: str | os.PathLike[str] | None = None, *, model: str | None = None,
    say: Callable[[str], None] | None = None,
) -> RepairReport:
    """Fix the files (catalog from a backup or salvage, index from the catalog) under the writer lock.

    Does not re-scan the folders: the caller does that through the library service (it needs the model).
    Raises LibraryBusyError when another photosim process has the library open.
    """
    data = resolve_data_dir(data_dir)
    report = RepairReport()
    if say is not None:
        report.say = lambda text: (report.lines.append(text), say(text))  # type: ignore[method-assign]
    backbone = resolve_backbone(model)
    with WriterLock(data):
        check = check_library(data, model=model)
        if check.catalog_damaged:
            _replace_damaged_catalog(data, report)
            check = check_library(data, model=model)
        if check.catalog_damaged:
            raise CatalogError("the catalog could not be repaired: " + "; ".join(check.lines()))
        if check.catalog_inconsistent:
            with Catalog(data / CATALOG_FILE) as catalog:
                fixed = catalog.fix_invariants()
            report.say(f"fixed {fixed} catalog rows that broke photosim's rules (they are indexed again)")
            check = check_library(data, model=model)
        # Unreachable photos alone (the file and its keys are fine) need no rebuild: re-inserting
        # them takes seconds where a rebuild of 100k photos takes minutes.
        relink_only = bool(check.unreachable) and not (report.restored_from or report.salvaged is not None)
        if (check.index_needs_repair and not relink_only) or report.restored_from or report.salvaged is not None:
            _drop_index(data, backbone.model_id)
            report.index_rebuilt = True
    if report.index_rebuilt or relink_only:
        # Opening the library rebuilds the index from the catalog's embeddings (no model run); the
        # repair then re-inserts the photos no search reaches and searches the rest exactly.
        with Library(data, model=model) as library:
            n = len(library.index)
            summary = library.repair_index()
        if report.index_rebuilt:
            report.say(f"rebuilt the vector index from the catalog: {n} photos, no photo re-embedded")
        if not summary.endswith("nothing to repair"):
            report.say(summary)
    return report


def _replace_damaged_catalog(data: Path, report: RepairReport) -> None:
    catalog_path = data / CATALOG_FILE
    stamp = time.strftime("%Y%m%d-%H%M%S")
    damaged = data / f"{CATALOG_FILE}.damaged-{stamp}"
    found = newest_good_backup(data)
    salvage_source = None
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(catalog_path) + suffix)
        if src.exists():
            os.replace(src, Path(str(damaged) + suffix))
    report.damaged_copy = damaged
    report.say(f"kept the damaged catalog as {damaged.name}")
    if found is not None:
        backup, what = found
        tmp = data / f"{CATALOG_FILE}.restoring"
        shutil.copyfile(backup.path, tmp)
        os.replace(tmp, catalog_path)
        report.restored_from = backup.label
        report.say(f"restored the catalog from the backup of {backup.label} ({what})")
        salvage_source = None
    else:
        salvage_source = damaged
    if salvage_source is not None:
        report.salvaged = salvage_rows(salvage_source, catalog_path)
        report.say(f"no usable backup: salvaged {report.salvaged} photo rows from the damaged catalog")
    report.say("photos added or changed since then will be indexed again by the scan that follows")


#: Tables besides folders and photos worth salvaging: what the person decided and did, which no
#: re-scan can redo. Labels, measures and pair checks are recomputed instead.
_SALVAGED_TABLES = {
    "dup_decisions": "id, kind, tier, members, created_at",
    "action_journal": "id, batch, at, action, path, target, fingerprint, photo, embedding, decision_id, undone_at",
}


def salvage_rows(damaged: Path, target: Path) -> int:
    """Copy every readable folder and photo row of a damaged catalog into a new one; returns photo rows.

    Ranges of ids are read in chunks; a chunk that hits a damaged page is split until the damage is
    isolated, so everything around it is kept.
    """
    new = Catalog(target)  # a fresh file at the current schema
    try:
        src = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.Error:
        new.close()
        return 0
    copied = 0
    try:
        try:
            version = src.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError:
            return 0
        path_expr = "path" if version >= 2 else "CAST(path AS BLOB)"
        folder_rows = _read_ranges(src, f"SELECT id, {path_expr}, added_at FROM folders", "folders")
        photo_cols = (f"id, {path_expr}, folder_id, size, mtime_ns, fingerprint, state, error, model, embedding, "
                      "width, height, taken_at, updated_at")
        photo_rows = _read_ranges(src, f"SELECT {photo_cols} FROM photos", "photos")
        folder_ids = {r[0] for r in folder_rows}
        with new.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO folders(id, path, added_at) VALUES (?, ?, ?)", folder_rows)
            good = [r for r in photo_rows if r[2] in folder_ids]
            db.executemany(
                "INSERT OR IGNORE INTO photos(id, path, folder_id, size, mtime_ns, fingerprint, state, error, model, "
                "embedding, width, height, taken_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                good,
            )
            copied = len(good)
            # A row salvaged without its embedding cannot stay "indexed": it is indexed again.
            db.execute("UPDATE photos SET state = 'pending' WHERE state = 'indexed' AND embedding IS NULL")
            if version >= 4:  # the person's duplicate decisions and clean-up journal (labels and checks are redone)
                for table, cols in _SALVAGED_TABLES.items():
                    rows = _read_ranges(src, f"SELECT {cols} FROM {table}", table)
                    marks = ",".join("?" * len(cols.split(",")))
                    db.executemany(f"INSERT OR IGNORE INTO {table}({cols}) VALUES ({marks})", rows)
        return copied
    finally:
        src.close()
        new.close()


def _read_ranges(db: sqlite3.Connection, select: str, table: str, chunk: int = 512) -> list[tuple]:
    try:
        top = db.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        top = 10_000_000  # the id index itself is damaged: probe the plausible range
    rows: list[tuple] = []
    stack = [(lo, min(lo + chunk - 1, top)) for lo in range(1, top + 1, chunk)]
    stack.reverse()
    while stack:
        lo, hi = stack.pop()
        try:
            rows.extend(db.execute(f"{select} WHERE id BETWEEN ? AND ?", (lo, hi)).fetchall())
        except sqlite3.DatabaseError:
            if lo < hi:
                mid = (lo + hi) // 2
                stack.extend([(mid + 1, hi), (lo, mid)])
    return rows


def _drop_index(data: Path, model_id: str) -> None:
    """Remove the index file and its recorded checksum: the next open rebuilds it from the catalog."""
    path = data / index_file_name(model_id)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    with Catalog(data / CATALOG_FILE) as catalog:
        for name in ("checksum", "checksum_next", "count", "exact_keys"):
            catalog.delete_meta(f"index.{model_id}.{name}")


__all__ = ["CheckReport", "RepairReport", "check_library", "repair_catalog_and_index", "salvage_rows",
           "SCHEMA_VERSION"]
