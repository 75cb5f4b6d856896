"""The on-disk vector index: atomic saves, checksums, and refusing corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photosim.core.vectors import VIEW_ON_OPEN, IndexFileError, VectorIndex


def _vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_save_load_roundtrip_gives_same_answers(tmp_path: Path) -> None:
    idx = VectorIndex(32)
    vecs = _vectors(500)
    idx.add(np.arange(1, 501), vecs)
    keys, sims = idx.search(vecs[10], 5)
    assert keys[0] == 11 and sims[0] > 0.99 and list(sims) == sorted(sims, reverse=True)
    checksum = idx.save(tmp_path / "v.usearch")
    assert [p.name for p in tmp_path.iterdir()] == ["v.usearch"]  # no temp file left behind
    again = VectorIndex.load(tmp_path / "v.usearch", 32, checksum=checksum)
    assert len(again) == 500
    k2, s2 = again.search(vecs[10], 5)
    assert k2.tolist() == keys.tolist() and np.allclose(s2, sims, atol=1e-3)


def test_adding_known_keys_is_harmless_and_removal_works(tmp_path: Path) -> None:
    idx = VectorIndex(32)
    vecs = _vectors(20)
    idx.add(np.arange(20), vecs)
    idx.add(np.arange(10, 25), _vectors(15, seed=1))  # 10..19 exist already: skipped
    assert len(idx) == 25
    assert idx.remove([3, 4, 999]) == 2
    assert 3 not in idx and 5 in idx and len(idx) == 23
    assert sorted(idx.keys().tolist()) == sorted(set(range(25)) - {3, 4})


def test_corrupt_or_foreign_files_are_refused(tmp_path: Path) -> None:
    idx = VectorIndex(32)
    idx.add(np.arange(100), _vectors(100))
    path = tmp_path / "v.usearch"
    checksum = idx.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle: usearch alone would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="checksum"):
        VectorIndex.load(path, 32, checksum=checksum)
    with pytest.raises(IndexFileError, match="missing"):
        VectorIndex.load(tmp_path / "nope.usearch", 32, checksum=checksum)
    good = idx.save(path)
    with pytest.raises(IndexFileError, match="dimensions"):
        VectorIndex.load(path, 64, checksum=good)


def test_interrupted_save_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "v.usearch"
    first = VectorIndex(32)
    first.add(np.arange(10), _vectors(10))
    checksum = first.save(path)
    bigger = VectorIndex(32)
    bigger.add(np.arange(50), _vectors(50))

    def die(_checksum: str) -> None:
        raise KeyboardInterrupt  # the process is interrupted after writing, before the rename

    with pytest.raises(KeyboardInterrupt):
        bigger.save(path, before_replace=die)
    assert [p.name for p in tmp_path.iterdir()] == ["v.usearch"]
    assert len(VectorIndex.load(path, 32, checksum=checksum)) == 10


def test_the_next_writer_removes_every_index_save_a_kill_left_behind(tmp_path: Path) -> None:
    """A kill between writing and renaming leaves ``<file>.<random>.tmp``: the copy index's or the
    look-alike index's, whichever was saving. The crash test once left the look-alike index's, which
    only that index's own opening removed; a writer opening the data folder removes them all, and a
    reader (another process's search) leaves them to the writer."""
    from photosim.core.library import Library

    data = tmp_path / "data"
    with Library(data):
        pass
    stale = [data / "vectors-a.usearch.x1y2z3.tmp", data / "vectors-a_labels-b.usearch.q9w8e7.tmp"]
    for path in stale:
        path.write_bytes(b"half a save")
    with Library(data, writable=False):
        assert all(path.exists() for path in stale)
    with Library(data):
        assert not any(path.exists() for path in stale)
        assert (data / "catalog.sqlite3").exists()


@pytest.mark.skipif(not VIEW_ON_OPEN, reason="indexes are mapped on open only where files can be replaced while mapped")
def test_an_opened_index_is_mapped_until_it_changes_and_a_save_never_breaks_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "v.usearch"
    vecs = _vectors(300)
    writer_seed = VectorIndex(32)
    writer_seed.add(np.arange(300), vecs)
    checksum = writer_seed.save(path)

    reader = VectorIndex.load(path, 32, checksum=checksum)  # e.g. `photosim search` in another process
    writer = VectorIndex.load(path, 32, checksum=checksum)
    assert reader.mapped and writer.mapped
    assert reader.search(vecs[7], 1)[0].tolist() == [7]

    writer.remove([7])  # the first change loads the file into memory...
    writer.add([1000], _vectors(1, seed=5))
    assert not writer.mapped and 7 not in writer and 1000 in writer and len(writer) == 300
    new_checksum = writer.save(path)  # ...so the save renames a new file over the one still mapped

    assert reader.search(vecs[7], 1)[0].tolist() == [7]  # the reader still sees its (old) file, no SIGBUS
    again = VectorIndex.load(path, 32, checksum=new_checksum)
    assert len(again) == 300 and 7 not in again and again.search(vecs[8], 1)[0].tolist() == [8]
