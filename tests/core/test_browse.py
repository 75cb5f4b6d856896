"""Browsing by folder: which folder inside its watched folder each photo lies in, kept between snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from photosim.core.catalog import Catalog, encode_path
from photosim.core.snapshot import SubfolderIndex, make_snapshot


def _add(cat: Catalog, folder_id: int, paths: list[str]) -> None:
    with cat.transaction() as db:
        db.executemany("INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) "
                       "VALUES (?, ?, 1, ?, 'indexed', 0)",
                       [(encode_path(p), folder_id, i) for i, p in enumerate(paths, start=len(cat.newest_first_ids()))])


def _snapshot(cat: Catalog, below: SubfolderIndex):  # noqa: ANN202
    ids, owners, stamps = cat.newest_first_with_folders()
    folders = cat.folders()
    codes, keys = below.codes(ids, stamps, {f.id: f.path for f in folders}, cat.stored_paths)
    return make_snapshot(ids, folders, cat.folder_counts(), {}, progress=None, busy=False, paused=False,
                         device=None, serial=1, folder_ids=owners, subfolder_ids=codes, subfolders=keys)


def test_subfolders_are_counted_read_once_and_forgotten_when_the_folders_change(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "catalog.sqlite3")
    root = tmp_path / "Pictures"
    odd = "caf\udce9"  # a folder name that is not valid UTF-8 (Latin-1 bytes), as old cameras wrote them
    for sub in ("2023/summer", "2024", odd):
        (root / sub).mkdir(parents=True)
    folder, _ = cat.add_folder(str(root))
    _add(cat, folder.id, [f"{root}/2023/summer/a.jpg", f"{root}/2023/b.jpg", f"{root}/2024/c.jpg",
                          f"{root}/{odd}/d.jpg", f"{root}/e.jpg"])
    asked: list[object] = []
    below = SubfolderIndex()

    def counting(ids=None):  # noqa: ANN001, ANN202
        asked.append(None if ids is None else len(ids))
        return cat.stored_paths(ids)

    snap = _snapshot(cat, below)
    assert snap.folders[0].subfolders == (("2023", 2), ("2023/summer", 1), ("2024", 1), (odd, 1))
    assert snap.counts == {"pending": 0, "indexed": 5, "failed": 0}  # the library's totals stay whole
    assert sorted(os.path.basename(cat.get(int(i)).path) for i in snap.ids_in(str(root / "2023"))) == ["a.jpg", "b.jpg"]
    assert len(snap.ids_in(os.path.join(str(root), odd))) == 1
    assert len(snap.ids_in(str(root))) == 5
    assert [os.path.basename(cat.get(int(i)).path) for i in snap.ids_in(str(root / "2023" / "summer"))] == ["a.jpg"]
    assert len(snap.ids_in(str(root / "2023" / "winter"))) == 0
    assert len(snap.ids_in(str(root / "2025"))) == 0 and len(snap.ids_in(str(tmp_path / "elsewhere"))) == 0

    # Later snapshots read the paths of new photos only.
    ids, _owners, stamps = cat.newest_first_with_folders()
    below.codes(ids, stamps, {f.id: f.path for f in cat.folders()}, counting)
    assert asked == []
    _add(cat, folder.id, [f"{root}/2024/f.jpg"])
    ids, _owners, stamps = cat.newest_first_with_folders()
    codes, keys = below.codes(ids, stamps, {f.id: f.path for f in cat.folders()}, counting)
    assert asked == [1]
    assert sorted(keys) == sorted([(folder.id, "2023/summer"), (folder.id, "2023"), (folder.id, "2024"), (folder.id, odd)])
    assert int(np.sum(codes == keys.index((folder.id, "2024")))) == 2

    # A photo moved to another subfolder keeps its id: its changed row is read again.
    moved = next(int(i) for i in ids if cat.get(int(i)).path.endswith("/c.jpg"))
    with cat.transaction():
        cat.move(moved, f"{root}/2023/c.jpg", folder.id, 1, 99)
    snap = _snapshot(cat, below)
    assert snap.folders[0].subfolders == (("2023", 3), ("2023/summer", 1), ("2024", 1), (odd, 1))
    assert moved in snap.ids_in(str(root / "2023")).tolist()

    # Another watched folder: everything is read again (a parent adopting a folder moves its photos down).
    cat.add_folder(str(tmp_path / "Phone"))
    ids, _owners, stamps = cat.newest_first_with_folders()
    asked.clear()
    below.codes(ids, stamps, {f.id: f.path for f in cat.folders()}, counting)
    assert asked == [None]
