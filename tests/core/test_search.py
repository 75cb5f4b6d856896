"""Search with the real model on real photos: edited copies come first; the index survives anything."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosim.core.indexer import Indexer
from photosim.core.library import Library
from photosim.core.search import QueryError, Searcher
from tests.photos import EDITS, save_jpeg, save_sideways_with_exif


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, originals_dir: Path, embedder) -> Iterator[tuple[Library, Path]]:  # noqa: ANN001
    """All sample photos indexed once for the read-only tests of this module."""
    folder = tmp_path_factory.mktemp("search") / "photos"
    shutil.copytree(originals_dir, folder)
    lib = Library(folder.parent / "data", embedder=embedder)
    lib.catalog.add_folder(str(folder))
    report = Indexer(lib).run()
    assert report.failed == 0 and report.indexed == len(list(folder.glob("*.jpg")))
    yield lib, folder
    lib.close()


@pytest.fixture
def indexed(photo_dir: Path, library: Library) -> tuple[Library, Path]:
    """A private indexed library (the eight-photo set) for tests that change files or the index."""
    library.catalog.add_folder(str(photo_dir))
    report = Indexer(library).run()
    assert report.failed == 0 and report.indexed == len(list(photo_dir.glob("*.jpg")))
    return library, photo_dir


def test_edited_copies_are_found_at_rank_one(shared: tuple[Library, Path], tmp_path: Path) -> None:
    lib, folder = shared
    searcher = Searcher(lib)
    queries = tmp_path / "queries"
    misses = []
    originals = sorted(folder.glob("*.jpg"))
    for original in originals:
        image = Image.open(original).convert("RGB")
        edited = {name: save_jpeg(edit(image), queries / f"{original.stem}-{name}.jpg") for name, edit in EDITS.items()}
        edited["exif-sideways"] = save_sideways_with_exif(image, queries / f"{original.stem}-sideways.jpg")
        for name, path in edited.items():
            hits = searcher.search_file(path, 3)
            if hits[0].path != str(original):
                misses.append(f"{original.stem}/{name} -> {Path(hits[0].path).stem}")
            assert hits[0].score > hits[1].score
    assert misses == [], f"{len(misses)} of {len(originals) * 5} edited copies missed: {misses}"


def test_results_are_best_first_with_cosine_scores(shared: tuple[Library, Path]) -> None:
    lib, folder = shared
    hits = Searcher(lib).search_file(folder / "chelsea.jpg", 5)
    assert len(hits) == 5
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert str(folder / "chelsea.jpg") not in [h.path for h in hits]  # a library photo is left out


def test_near_duplicate_stereo_pair(shared: tuple[Library, Path], tmp_path: Path) -> None:
    from skimage import data

    lib, folder = shared
    _left, right, _ = data.stereo_motorcycle()
    query = save_jpeg(Image.fromarray(right), tmp_path / "right.jpg")
    assert Searcher(lib).search_file(query, 1)[0].path == str(folder / "motorcycle_left.jpg")


def test_search_by_bytes_and_by_library_photo(shared: tuple[Library, Path]) -> None:
    lib, folder = shared
    searcher = Searcher(lib)
    data = (folder / "coffee.jpg").read_bytes()
    by_bytes = searcher.search_bytes(data, 3)
    assert by_bytes[0].path == str(folder / "coffee.jpg") and by_bytes[0].score > 0.99
    coffee_id = lib.catalog.get_by_path(str(folder / "coffee.jpg")).id
    by_photo = searcher.search_photo(coffee_id, 3)
    assert coffee_id not in [h.photo_id for h in by_photo]
    assert [h.photo_id for h in by_photo[:2]] == [h.photo_id for h in by_bytes[1:3]]


def test_a_huge_picture_is_checked_at_a_working_size(shared: tuple[Library, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Found trying the command line: a 108 MP PNG query took 13 s and 3 GB, its nine turned and cut-out
    variants made at full size. The check now works on at most ZOOM_MAX_SIDE pixels, and a PNG (which
    cannot be decoded small) is decoded once; a big copy of a library photo is still "the same photo"."""
    from photosim.core import search as search_module
    from photosim.core.matching import ZOOM_MAX_SIDE
    from photosim.core.search import working_picture

    lib, folder = shared
    coffee = Image.open(folder / "coffee.jpg").convert("RGB")
    big = coffee.resize((coffee.width * 6, coffee.height * 6), Image.Resampling.BICUBIC)  # 6144 x 4096 or so
    big.save(tmp_path / "coffee-poster.png")
    pictures: list[Image.Image] = []
    decodes: list[str] = []
    real_rank, real_decode = Searcher._rank, search_module.decode_photo

    def rank_spy(self, vector, k, folder, exclude, picture, alike, **kwargs):  # noqa: ANN001, ANN003, ANN202
        pictures.append(picture)
        return real_rank(self, vector, k, folder, exclude, picture, alike, **kwargs)

    def decode_spy(source, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        photo = real_decode(source, *args, **kwargs)
        decodes.append(photo.source)
        return photo

    monkeypatch.setattr(Searcher, "_rank", rank_spy)
    monkeypatch.setattr(search_module, "decode_photo", decode_spy)
    monkeypatch.setattr(search_module, "decode", lambda *a, **k: decodes.append("again") or real_decode(*a, **k).image)
    answer = Searcher(lib).results_for_file(tmp_path / "coffee-poster.png", 5)
    assert answer.results[0].path == str(folder / "coffee.jpg") and answer.results[0].match == "same"
    assert len(pictures) == 1 and max(pictures[0].size) == ZOOM_MAX_SIDE
    assert decodes == ["full"]  # decoded once
    for size in ((12000, 9000), (ZOOM_MAX_SIDE + 1, 10), (ZOOM_MAX_SIDE, 900), (640, 480)):
        reduced = working_picture(Image.new("RGB", size))
        assert max(reduced.size) == min(max(size), ZOOM_MAX_SIDE)
        assert abs(reduced.width / reduced.height - size[0] / size[1]) < 0.02 * size[0] / size[1] + 0.1


def test_results_never_name_missing_files_and_respect_folder_filter(indexed: tuple[Library, Path]) -> None:
    lib, folder = indexed
    searcher = Searcher(lib)
    os.remove(folder / "coffee.jpg")  # gone, and not re-indexed yet
    hits = searcher.search_bytes((folder / "chelsea.jpg").read_bytes(), 50)
    assert all(os.path.exists(h.path) for h in hits)
    assert len(hits) == len(list(folder.glob("*.jpg")))
    sub = folder / "pets"
    sub.mkdir()
    shutil.move(folder / "astronaut.jpg", sub / "astronaut.jpg")
    Indexer(lib).run()
    in_sub = searcher.search_bytes((folder / "chelsea.jpg").read_bytes(), 5, folder=str(sub))
    assert [h.path for h in in_sub] == [str(sub / "astronaut.jpg")]
    with pytest.raises(QueryError, match="not inside a watched folder"):
        searcher.search_vector(np.ones(lib.backbone.dim, dtype=np.float32), 5, folder="/nonexistent")


def test_bad_queries_explain_themselves(shared: tuple[Library, Path], tmp_path: Path) -> None:
    lib, _ = shared
    searcher = Searcher(lib)
    (tmp_path / "notes.jpg").write_text("hello")
    with pytest.raises(QueryError, match="not an image"):
        searcher.search_file(tmp_path / "notes.jpg")
    with pytest.raises(QueryError, match="no such file"):
        searcher.search_file(tmp_path / "missing.jpg")
    with pytest.raises(QueryError):
        searcher.search_bytes(b"")


def test_empty_library_says_so(library: Library, full_photo_dir: Path) -> None:
    with pytest.raises(QueryError, match="empty"):
        Searcher(library).search_file(full_photo_dir / "chelsea.jpg")


def _results(lib: Library, folder: Path) -> list[tuple[str, float]]:
    hits = Searcher(lib).search_photo(lib.catalog.get_by_path(str(folder / "rocket.jpg")).id, 6)
    return [(h.path, round(h.score, 3)) for h in hits]


class _NoModel:
    """Stands in for the embedder where the test proves the model is never needed."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the model was used ({name}) although nothing needed re-embedding")


def test_persistence_and_rebuild_without_reembedding(indexed: tuple[Library, Path], data_dir: Path) -> None:
    lib, folder = indexed
    expected = _results(lib, folder)
    index_path = lib.index_path
    lib.close()

    with Library(data_dir, writable=True, model=lib.backbone) as reopened:
        reopened._embedder = _NoModel()  # type: ignore[assignment]
        assert _results(reopened, folder) == expected
        assert reopened.index_events == []  # loaded as saved, nothing repaired

    index_path.unlink()
    with Library(data_dir, writable=True, model=lib.backbone) as rebuilt:
        rebuilt._embedder = _NoModel()  # type: ignore[assignment]
        assert _results(rebuilt, folder) == expected
        assert any("missing" in e and "no re-embedding" in e for e in rebuilt.index_events)
    assert index_path.exists()

    data = bytearray(index_path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    index_path.write_bytes(bytes(data))
    with Library(data_dir, writable=True, model=lib.backbone) as repaired:
        repaired._embedder = _NoModel()  # type: ignore[assignment]
        assert _results(repaired, folder) == expected
        assert any("checksum" in e for e in repaired.index_events)

    index_path.write_bytes(b"garbage")
    with Library(data_dir, writable=False, model=lib.backbone) as reader:  # readers repair in memory only
        reader._embedder = _NoModel()  # type: ignore[assignment]
        assert _results(reader, folder) == expected
    assert index_path.read_bytes() == b"garbage"


def test_vectors_of_another_model_are_never_searched(indexed: tuple[Library, Path], data_dir: Path, embedder) -> None:  # noqa: ANN001
    from photosim.core.embedder import EfficientNetLite0

    class OtherRecipe(EfficientNetLite0):
        model_id = "efficientnet-lite0/other-recipe"

    lib, folder = indexed
    lib.close()
    with Library(data_dir, model=OtherRecipe()) as other:
        other._embedder = _NoModel()  # type: ignore[assignment]
        assert len(other.index) == 0  # the library's vectors belong to the default model
        with pytest.raises(QueryError, match="empty"):
            Searcher(other).search_vector(np.ones(other.backbone.dim, dtype=np.float32))


def _shot(image: Image.Image, path: Path, taken: str | None, quality: int = 92) -> Path:
    """A camera file: the picture with EXIF DateTimeOriginal ``taken`` ("YYYY:MM:DD HH:MM:SS"), or none."""
    exif = Image.Exif()
    if taken is not None:
        exif[0x8769] = {0x9003: taken}
    return save_jpeg(image, path, quality=quality, exif=exif if taken is not None else None)


def test_a_photo_taken_at_another_moment_is_another_shot_never_a_copy(indexed: tuple[Library, Path],
                                                                      tmp_path: Path) -> None:
    """Two frames of one view on a tripod, two minutes apart, look like crops of each other: without
    their capture times the search calls them copies. With them, the search follows the duplicate
    finder's rule (different capture times: different shots), says why, and lists the other shot
    first among the close photos; an edited copy keeping the capture time is still a copy."""
    from photosim.core.duplicates import DuplicateFinder

    lib, folder = indexed
    picture = Image.open(folder / "coffee.jpg").convert("RGB")
    w, h = picture.size
    first = picture.crop((0, 0, int(w * 0.93), int(h * 0.93)))
    second = picture.crop((int(w * 0.07), int(h * 0.05), w, int(h * 0.98)))
    _shot(first, folder / "shot-1.jpg", "2024:07:14 10:00:00")
    _shot(first.resize((first.width * 3 // 4, first.height * 3 // 4)), folder / "shot-1-edit.jpg",
          "2024:07:14 10:00:00", quality=75)
    _shot(second, folder / "shot-2.jpg", "2024:07:14 10:02:00")
    assert Indexer(lib).run().indexed == 3
    searcher = Searcher(lib)

    # The pixels alone: the second frame, saved without a capture time, finds the first as a copy.
    bare = _shot(second, tmp_path / "second-bare.jpg", None)
    copies = {Path(r.path).name for r in searcher.results_for_file(bare, 8).results if r.match == "same"}
    assert {"shot-1.jpg", "shot-2.jpg"} <= copies

    # "Find similar" on the first frame (a library photo: its stored capture time).
    found = searcher.results_for_file(folder / "shot-1.jpg", 8)
    by_name = {Path(r.path).name: r for r in found.results}
    assert by_name["shot-1-edit.jpg"].match == "same"
    assert by_name["shot-2.jpg"].match != "same"
    assert by_name["shot-2.jpg"].reason == "another shot: taken 2 min apart"
    assert found.results[found.same].path.endswith("shot-2.jpg")  # the closest of the photos that are not copies
    # coffee.jpg, the picture both frames are cut from, has no capture time: a copy, as before
    assert {Path(r.path).name for r in found.results[: found.same]} == {"shot-1-edit.jpg", "coffee.jpg"}

    # A picture from outside with its capture time: the same rule.
    outside = _shot(second, tmp_path / "second.jpg", "2024:07:14 10:02:00", quality=80)
    found = searcher.results_for_file(outside, 8)
    by_name = {Path(r.path).name: r for r in found.results}
    assert by_name["shot-2.jpg"].match == "same"
    assert by_name["shot-1.jpg"].match != "same" and by_name["shot-1.jpg"].reason.startswith("another shot")

    # The Duplicates page agrees: the edit joins its original, the other shot does not.
    finder = DuplicateFinder(lib)
    finder.full_pass()
    same = [{Path(p.path).name for p in g.photos} for g in finder.state.groups("same")]
    assert any({"shot-1.jpg", "shot-1-edit.jpg"} <= g for g in same)
    assert not any("shot-2.jpg" in g and "shot-1.jpg" in g for g in same)
