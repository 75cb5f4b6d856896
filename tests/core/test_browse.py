"""Browsing by folder: which folder inside its watched folder each photo lies in, kept between snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from photosim.core.catalog import Catalog, encode_path
from photosim.core.snapshot import FolderState, LibrarySnapshot, SubfolderIndex, make_snapshot


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


def test_a_renamed_folder_is_found_by_where_its_photos_went() -> None:
    def snap(places: dict[int, str]) -> LibrarySnapshot:
        keys = sorted(set(places.values()) - {""})
        ids = np.array(sorted(places), dtype=np.int64)
        return LibrarySnapshot(
            ids=ids, folders=(FolderState("/pics", len(ids), 0, 0, "up to date", folder_id=1),),
            folder_ids=np.ones(len(ids), dtype=np.int64),
            subfolder_ids=np.array([keys.index(places[i]) if places[i] else -1 for i in ids], dtype=np.int64),
            subfolder_keys=tuple((1, k) for k in keys))

    before = snap({1: "Trip", 2: "Trip", 3: "Trip/day 2", 4: "Other", 5: ""})
    after = snap({1: "2024/Brittany", 2: "2024/Brittany", 3: "2024/Brittany/day 2", 4: "Other", 5: ""})
    assert after.folders_of([1, 3, 5]) == {1: "/pics/2024/Brittany", 3: "/pics/2024/Brittany/day 2", 5: "/pics"}
    assert after.renamed("/pics/Trip", before) == "/pics/2024/Brittany"
    assert after.renamed("/pics/Trip/day 2", before) == "/pics/2024/Brittany/day 2"
    scattered = snap({1: "A", 2: "B", 3: "C/day 2", 4: "Other", 5: ""})
    assert scattered.renamed("/pics/Trip", before) is None  # its photos went different ways
    gone = snap({4: "Other", 5: ""})
    assert gone.renamed("/pics/Trip", before) is None
