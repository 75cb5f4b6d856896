"""The duplicate clean-up's actions: to the trash, to a folder, "not duplicates", "keep all", and undo.

Safe by construction:

* nothing is ever deleted: files go to the system trash (:mod:`photosim.core.trash`) or to a folder
  the user chose;
* a file inside a reference folder (a setting) is never moved or trashed: the action refuses it,
  says why, and goes on with the others;
* every action is written to the catalog's journal with what is needed to reverse it: where the file
  went, and the photo's catalog row with its embedding and labels, so an undo puts the file back
  *and* the photo back in the library without running the model;
* the catalog and the vector index follow the files at once. A :class:`Cleanup` writes through the
  library's own catalog connection, so it must run where the library's writes run: on the library
  service's writer thread (the service queues these actions there), or in a command that holds the
  writer lock and does nothing else meanwhile.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .catalog import INDEXED, Catalog, decode_vector
from .library import Library
from .paths import is_within, normalize_path
from .progress import format_size
from .trash import Trashed, TrashError, move_to_trash, restore

TRASH, MOVE, NOT_DUPLICATES, KEEP_ALL = "trash", "move", "not_duplicates", "keep_all"
DECISIONS = (NOT_DUPLICATES, KEEP_ALL)
NOTHING_TO_UNDO = "nothing to undo"


@dataclass(frozen=True)
class ActionResult:
    """What one action (or one undo) did: ``done`` the paths it handled, ``refused`` (path, why) for
    the ones it would not or could not handle, ``photo_ids`` the library photos that left (or, for
    an undo, came back), ``batch`` its journal batch."""

    action: str
    done: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    photo_ids: tuple[int, ...] = ()
    bytes: int = 0
    batch: int | None = None
    fingerprints: tuple[str, ...] = ()
    changed_paths: tuple[str, ...] = field(default=())
    """Every path whose state changed (both ends of a move), for the duplicate finder's update."""

    @property
    def nothing_to_undo(self) -> bool:
        """An undo that found no action left to reverse."""
        return self.action == "undo" and not self.done and any(why == NOTHING_TO_UNDO for _, why in self.refused)

    def summary(self) -> str:
        """One line for a status bar or the command line."""
        verb = {TRASH: "moved to the trash", MOVE: "moved", NOT_DUPLICATES: "marked as not duplicates",
                KEEP_ALL: "kept", "undo": "restored"}.get(self.action, self.action)
        n = len(self.done)
        text = f"{n} photo{'' if n == 1 else 's'} {verb}"
        if self.bytes and self.action in (TRASH, MOVE):
            text += f" ({format_size(self.bytes)})"
        if self.refused:
            text += f"; {len(self.refused)} refused: " + "; ".join(f"{os.path.basename(p)}: {why}"
                                                                    for p, why in self.refused[:3])
            if len(self.refused) > 3:
                text += "; ..."
        return text


@dataclass(frozen=True)
class JournalEntry:
    """One journal line as the app shows it ("Undo: moved 3 photos to the trash")."""

    id: int
    batch: int
    at: float
    action: str
    path: str | None
    target: str | None
    undone: bool


class Cleanup:
    """Runs clean-up actions on one writable library (see the module notes on threads)."""

    def __init__(self, library: Library, reference_folders: Sequence[str] = ()) -> None:
        if not library.writable:
            raise ValueError("a clean-up needs a writable library")
        self.library = library
        self.catalog = library.catalog
        self.reference_folders = [normalize_path(p) for p in reference_folders]

    def protected(self, path: str) -> bool:
        """Inside a folder the user marked as reference (never moved or trashed)."""
        return any(is_within(path, folder) for folder in self.reference_folders)

    # -- actions -------------------------------------------------------------------------------
    def trash(self, photo_ids: Iterable[int]) -> ActionResult:
        """Move these photos' files to the system trash; they leave the library at once."""
        return self._relocate(TRASH, photo_ids, None)

    def move(self, photo_ids: Iterable[int], folder: str) -> ActionResult:
        """Move these photos' files into ``folder`` (created if needed; a name already taken there gets
        " (2)"); a photo moved inside a watched folder keeps its place in the library, one moved out
        of every watched folder leaves it."""
        return self._relocate(MOVE, photo_ids, normalize_path(folder))

    def _relocate(self, action: str, photo_ids: Iterable[int], folder: str | None) -> ActionResult:
        catalog = self.catalog
        _ = self.library.index  # opened (and reconciled) before the catalog changes, as the indexer does
        batch = catalog.next_journal_batch()
        done: list[str] = []
        refused: list[tuple[str, str]] = []
        gone: list[int] = []
        changed: list[str] = []
        fingerprints: list[str] = []
        total = 0
        for photo_id in dict.fromkeys(int(i) for i in photo_ids):
            record = catalog.photo_record(photo_id)
            if record is None:
                refused.append((f"photo {photo_id}", "no longer in the library"))
                continue
            row, embedding = record
            if self.protected(row.path):
                refused.append((row.path, "inside a reference folder: photosim never moves or trashes it"))
                continue
            if not os.path.lexists(row.path):
                refused.append((row.path, "the file is no longer there"))
                continue
            photo = {"folder_id": row.folder_id, "size": row.size, "mtime_ns": row.mtime_ns, "model": row.model,
                     "width": row.width, "height": row.height, "taken_at": row.taken_at,
                     "state": row.state}
            labels = catalog.labels_of(photo_id)
            if labels is not None:  # put back with the file: else the model runs on it again after an undo
                photo["labels"] = {"model": labels[0], "labels": base64.b64encode(labels[1]).decode("ascii"),
                                   "camera": labels[2]}
            try:
                if action == TRASH:
                    trashed = move_to_trash(row.path)
                    target, photo["info"] = trashed.location, trashed.info
                else:
                    assert folder is not None
                    target = _move_file(row.path, folder)
            except (TrashError, OSError) as exc:
                refused.append((row.path, str(exc) if isinstance(exc, TrashError) else (exc.strerror or str(exc))))
                continue
            with catalog.transaction():
                catalog.journal_add(batch, action, path=row.path, target=target, fingerprint=row.fingerprint,
                                    photo=json.dumps(photo), embedding=embedding)
                stays = False
                if action == MOVE and target is not None:
                    owner = catalog.folder_for(target)
                    if owner is not None:
                        st = os.stat(target)
                        catalog.move(photo_id, target, owner.id, st.st_size, st.st_mtime_ns)
                        stays = True
                if not stays:
                    catalog.delete([photo_id])
            if not stays:
                gone.append(photo_id)
            done.append(row.path)
            changed += [row.path] + ([target] if action == MOVE and target else [])
            fingerprints.append(row.fingerprint or "")
            total += row.size
        if gone:
            self.library.remove_vectors(gone)
        return ActionResult(action, tuple(done), tuple(refused), tuple(gone), total, batch if done else None,
                            tuple(fingerprints), tuple(changed))

    def decide(self, kind: str, tier: str, fingerprints: Sequence[str]) -> ActionResult:
        """Remember "not duplicates" or "keep all" for these contents (a group), in the journal too."""
        if kind not in DECISIONS:
            raise ValueError(f"unknown decision: {kind}")
        members = sorted({f for f in fingerprints if f})
        batch = self.catalog.next_journal_batch()
        with self.catalog.transaction():
            decision = self.catalog.add_dup_decision(kind, tier, members)
            self.catalog.journal_add(batch, kind, decision_id=decision, photo=json.dumps({"tier": tier}))
        return ActionResult(kind, tuple(members), batch=batch, fingerprints=tuple(members))

    # -- undo ----------------------------------------------------------------------------------
    def undo_last(self) -> ActionResult:
        """Reverse the most recent batch not yet undone (call again for the one before)."""
        catalog = self.catalog
        _ = self.library.index  # opened (and reconciled) before the catalog changes, as the indexer does
        batch = catalog.last_undoable_batch()
        if batch is None:
            return ActionResult("undo", refused=(("", NOTHING_TO_UNDO),))
        done: list[str] = []
        refused: list[tuple[str, str]] = []
        back: list[int] = []
        changed: list[str] = []
        fingerprints: list[str] = []
        entries = [e for e in catalog.journal(10_000, batch=batch) if e[10] is None]
        undone: list[int] = []
        for (entry_id, _b, _at, action, path, target, fingerprint, photo_text, embedding, decision_id,
             _undone) in entries:
            photo = json.loads(photo_text) if photo_text else {}
            if action in DECISIONS:
                if decision_id is not None:
                    members = {d[0]: d[3] for d in catalog.dup_decisions()}.get(int(decision_id), [])
                    fingerprints += members
                    catalog.delete_dup_decision(int(decision_id))
                undone.append(entry_id)
                done.append(action)
                continue
            assert path is not None
            try:
                if action == TRASH:
                    restore(Trashed(path, target, photo.get("info")))
                elif action == MOVE:
                    _move_back(target, path)
            except (TrashError, OSError) as exc:
                refused.append((path, str(exc) if isinstance(exc, TrashError) else (exc.strerror or str(exc))))
                continue
            new_id = self._put_back(path, target if action == MOVE else None, fingerprint, photo, embedding)
            if new_id is not None:
                back.append(new_id)
            undone.append(entry_id)
            done.append(path)
            changed += [path] + ([target] if action == MOVE and target else [])
            fingerprints.append(fingerprint or "")
        catalog.journal_mark_undone(undone)
        return ActionResult("undo", tuple(done), tuple(refused), tuple(back), batch=batch,
                            fingerprints=tuple(fingerprints), changed_paths=tuple(changed))

    def _put_back(self, path: str, moved_to: str | None, fingerprint: str | None, photo: dict,
                  embedding: bytes | None) -> int | None:
        """The photo's catalog row and vector as they were before the action; returns its id."""
        catalog = self.catalog
        if moved_to is not None:  # it may have stayed in the library at its new place
            row = catalog.get_by_path(moved_to)
            owner = catalog.folder_for(path)
            if row is not None and owner is not None:
                st = os.stat(path)
                with catalog.transaction():
                    catalog.move(row.id, path, owner.id, st.st_size, st.st_mtime_ns)
                return None
        owner = catalog.folder_for(path)
        if owner is None or embedding is None or photo.get("state") != INDEXED or not fingerprint:
            return None  # the folder is no longer watched: the file is back, the library leaves it alone
        st = os.stat(path)
        with catalog.transaction():
            new_id = catalog.insert_indexed(
                path, owner.id, size=st.st_size, mtime_ns=st.st_mtime_ns, fingerprint=fingerprint,
                model=photo.get("model") or self.library.model_id, embedding=embedding, width=photo.get("width"),
                height=photo.get("height"), taken_at=photo.get("taken_at"))
            labels = photo.get("labels")
            if isinstance(labels, dict) and labels.get("model") and labels.get("labels"):
                catalog.set_labels(new_id, str(labels["model"]), base64.b64decode(labels["labels"]),
                                   labels.get("camera"))
        if (photo.get("model") or self.library.model_id) == self.library.model_id:
            self.library.add_vectors([new_id], decode_vector(embedding)[None, :])
        return new_id

    def journal(self, limit: int = 50) -> list[JournalEntry]:
        """The latest actions, newest first."""
        return self.read_journal(self.catalog, limit)

    @staticmethod
    def read_journal(catalog: Catalog, limit: int = 50) -> list[JournalEntry]:
        """The latest actions, newest first, through any connection (a view's reader)."""
        return [JournalEntry(e[0], e[1], e[2], e[3], e[4], e[5], e[10] is not None) for e in catalog.journal(limit)]


def _move_file(path: str, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    stem, ext = os.path.splitext(name)
    target = os.path.join(folder, name)
    n = 2
    while os.path.lexists(target):
        target = os.path.join(folder, f"{stem} ({n}){ext}")
        n += 1
    shutil.move(path, target)
    return target


def _move_back(target: str | None, path: str) -> None:
    if target is None or not os.path.lexists(target):
        raise OSError(2, f"{os.path.basename(path)} is no longer where it was moved to")
    if os.path.lexists(path):
        raise OSError(17, f"cannot put {path} back: another file is there now")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.move(target, path)
