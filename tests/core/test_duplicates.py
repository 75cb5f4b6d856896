"""The duplicate finder on real photos and real files: tiers, keepers, no chaining, clean-up, decisions.

One folder of real photos serves every test: exact copies, edited copies (a crop, a mirror, a small
PNG export), a real near-duplicate pair taken a second apart (scikit-image's stereo motorcycle), and
flat pictures that must never be grouped. The model is the session's; trash goes to a temporary
freedesktop trash (``XDG_DATA_HOME`` points into the test's folder).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosim.core.dupgraph import linked_groups, union_groups
from photosim.core.dupstate import PhotoInfo, ShotUnit, SimilarGraph
from photosim.core.events import CleanedUp, DuplicatesChanged, DuplicatesProgressed
from photosim.core.keepbest import Candidate, choose_keeper
from photosim.core.photofacts import measure
from tests.photos import crop_center, half_size, mirror, save_jpeg


def _exif(when: dt.datetime, model: str = "Test 12MP") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhotosimTest", model
    exif[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(0x8769)[0x9003] = exif[0x0132]
    return exif


def build_folder(root: Path, originals_dir: Path) -> Path:
    """The test library's photos (16 files); see the module docstring."""
    photos = root / "photos"
    photos.mkdir(parents=True)
    for name in ("chelsea", "coffee", "rocket", "china", "flower", "retina"):
        shutil.copy(originals_dir / f"{name}.jpg", photos / f"{name}.jpg")
    noon = dt.datetime(2024, 5, 4, 12, 0, 0)
    astronaut = Image.open(originals_dir / "astronaut.jpg").convert("RGB")
    save_jpeg(astronaut, photos / "astronaut.jpg", exif=_exif(noon - dt.timedelta(hours=1)))
    (photos / "exports").mkdir()
    half_size(astronaut).save(photos / "exports" / "astronaut-small.png")
    coffee = Image.open(originals_dir / "coffee.jpg").convert("RGB")
    save_jpeg(crop_center(coffee), photos / "edits" / "coffee-crop.jpg")
    save_jpeg(mirror(coffee), photos / "edits" / "coffee-mirror.jpg")
    (photos / "backup").mkdir()
    shutil.copy(photos / "chelsea.jpg", photos / "backup" / "chelsea copy.jpg")
    from skimage.data import stereo_motorcycle

    left, right, _ = stereo_motorcycle()
    save_jpeg(Image.fromarray(left), photos / "burst" / "moto-1.jpg", exif=_exif(noon))
    save_jpeg(Image.fromarray(right), photos / "burst" / "moto-2.jpg", exif=_exif(noon + dt.timedelta(seconds=1)))
    (photos / "flat").mkdir()
    Image.new("RGB", (800, 600), (255, 255, 255)).save(photos / "flat" / "white.jpg", quality=92, exif=_exif(noon))
    Image.new("RGB", (600, 800), (0, 0, 0)).save(photos / "flat" / "black.jpg", quality=92,
                                                 exif=_exif(noon + dt.timedelta(seconds=2)))
    wall = np.clip(235 + np.random.default_rng(1).normal(0, 3, (600, 800, 1)), 0, 255).astype(np.uint8)
    Image.fromarray(np.repeat(wall, 3, axis=2)).save(photos / "flat" / "wall.jpg", quality=92)
    return photos


@pytest.fixture(scope="module")
def dup_source(tmp_path_factory: pytest.TempPathFactory, originals_dir: Path) -> Path:
    return build_folder(tmp_path_factory.mktemp("dups"), originals_dir)


@pytest.fixture
def dup_photos(tmp_path: Path, dup_source: Path) -> Path:
    """A private, writable copy of the duplicate photos (modification times kept)."""
    target = tmp_path / "photos"
    shutil.copytree(dup_source, target)
    return target


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory, dup_source: Path, embedder):  # noqa: ANN001, ANN201
    """The library of the duplicate photos, indexed, after one full pass (read-only for the tests)."""
    with finder_over(dup_source, tmp_path_factory.mktemp("dups-data"), embedder) as (_lib, finder):
        yield finder


@contextmanager
def finder_over(photos: Path, data_dir: Path, embedder):  # noqa: ANN001, ANN201
    """A library of ``photos``, indexed, and its duplicate finder after one full pass; closed after."""
    from photosim.core.duplicates import DuplicateFinder
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library

    lib = Library(data_dir, embedder=embedder)
    try:
        lib.catalog.add_folder(str(photos))
        Indexer(lib).run()
        finder = DuplicateFinder(lib)
        finder.full_pass()
        yield lib, finder
    finally:
        lib.close()


def names(group) -> set[str]:  # noqa: ANN001
    return {os.path.relpath(p.path, p.path.split("/photos/")[0] + "/photos") for p in group.photos}


def test_three_tiers_found_in_one_pass_and_flat_pictures_never_grouped(found) -> None:  # noqa: ANN001
    state = found.state
    assert state.ready
    exact = [names(g) for g in state.groups("exact")]
    assert exact == [{"chelsea.jpg", "backup/chelsea copy.jpg"}]
    same = [names(g) for g in state.groups("same")]
    assert {"coffee.jpg", "edits/coffee-crop.jpg", "edits/coffee-mirror.jpg"} in same
    assert {"astronaut.jpg", "exports/astronaut-small.png"} in same
    similar = [names(g) for g in state.groups("similar")]
    assert similar == [{"burst/moto-1.jpg", "burst/moto-2.jpg"}]  # a burst: similar shots, not the same photo
    assert not any(n.startswith("burst/") for g in same for n in g)
    grouped = {n for tier in (exact, same, similar) for g in tier for n in g}
    assert not {n for n in grouped if n.startswith("flat/")}
    for g in state.groups("same"):  # every member is a copy of the same subject as its keeper
        stem = g.keeper.name.split(".")[0].split("-")[0]
        assert all(stem in p.name for p in g.photos), names(g)
        assert g.members[0].keep and not any(m.keep for m in g.members[1:])
        assert all(0.5 < m.score <= 1.0 for m in g.members)


def test_a_pass_in_steps_never_shows_a_flat_picture_and_ends_as_the_one_pass(library, dup_photos: Path) -> None:  # noqa: ANN001
    """The app's way: start_pass publishes groups before any file is read, then steps check pairs. At
    no point may a flat picture (not measured yet) show as a similar shot, and the end state is the
    one-pass state (bursts included)."""
    from photosim.core.duplicates import DuplicateFinder
    from photosim.core.indexer import Indexer

    library.catalog.add_folder(str(dup_photos))
    Indexer(library).run()
    finder = DuplicateFinder(library)
    states = [finder.start_pass()]
    while finder.pending:
        states.append(finder.check_pending(4))
    for state in states:
        grouped = {n for tier in ("exact", "same", "similar") for g in state.groups(tier) for n in names(g)}
        assert not {n for n in grouped if n.startswith("flat/")}, grouped
    final = states[-1]
    assert [names(g) for g in final.groups("similar")] == [{"burst/moto-1.jpg", "burst/moto-2.jpg"}]
    assert {"coffee.jpg", "edits/coffee-crop.jpg", "edits/coffee-mirror.jpg"} in [names(g) for g in final.groups("same")]


def test_keeper_explains_itself_and_the_rule_order_is_a_setting(found) -> None:  # noqa: ANN001
    group = next(g for g in found.state.groups("same") if g.keeper.name.startswith("astronaut"))
    assert group.keeper.name == "astronaut.jpg"
    assert group.reason.startswith("keeps astronaut.jpg: original format (camera JPEG vs PNG), 0.26 MP vs 0.07 MP")
    facts = group.keeper.describe()
    assert facts["dimensions"] == "512 x 512 (0.3 MP)" and facts["camera"] == "PhotosimTest Test 12MP"
    assert group.reclaimable == group.members[1].photo.size
    assert found.state.photo(group.keeper.photo_id) == group.keeper
    mine = group.with_keeper(group.members[1].photo.photo_id)  # the K key: a person's own choice
    assert mine.keeper.name == "astronaut-small.png" and [p.name for p in mine.suggested_trash] == ["astronaut.jpg"]
    assert mine.reason == "keeps astronaut-small.png: your choice" and mine.key == group.key
    try:  # smaller and more compressed first: the PNG (lossless) wins on compression
        state = found.configure(rules=["compression", "pixels"])
        group = next(g for g in state.groups("same") if "astronaut" in g.keeper.name)
        assert group.keeper.name == "astronaut-small.png"
        assert group.reason.startswith("keeps astronaut-small.png: less compression (quality 100 vs 92)")
    finally:
        found.configure(rules=None)


def test_similarity_slider_histogram_and_regrouping(found) -> None:  # noqa: ANN001
    state = found.state
    edges, counts = state.histogram(bins=10)
    assert len(edges) == 11 and counts.sum() >= 1 and edges[0] == pytest.approx(0.5)
    score = next(iter(state.similar)).members[1].score
    assert state.with_similar_threshold(min(0.99, score + 0.01)).groups("similar") == []
    assert len(state.with_similar_threshold(score - 0.05).groups("similar")) == 1


def test_groups_do_not_chain() -> None:
    # a~b, b~c, c~d: neighbours along a chain; a and d have nothing to do with each other
    alike = {(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)}
    strength = {(0, 1): 0.9, (1, 2): 0.85, (2, 3): 0.8, (0, 2): 0.75, (1, 3): 0.7}
    edges = [(s, a, b) for (a, b), s in strength.items()]
    assert union_groups((a, b) for _s, a, b in edges) == [[0, 1, 2, 3]]
    groups = linked_groups(edges, lambda a, b: (min(a, b), max(a, b)) in alike)
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3]] or sorted(map(sorted, groups)) == [[0, 1, 2]]
    assert all(not {0, 3} <= set(g) for g in groups)
    # the similar tier: three shots taken a second apart, 1 alike 2 and 2 alike 3, 1 and 3 not
    def unit(i: int, vec: list[float]) -> ShotUnit:
        v = np.asarray(vec, np.float32)
        photo = PhotoInfo(i, f"/p/{i}.jpg", 1, 0.0, f"fp{i}", 100.0 + i, None)
        return ShotUnit(photo, 100.0 + i, (v / np.linalg.norm(v)).astype(np.float16))

    a, b, c = unit(0, [1, 0, 0]), unit(1, [1, 1, 0]), unit(2, [0, 1, 0])
    graph = SimilarGraph((a, b, c), np.array([[0, 1], [1, 2]], np.int32), np.array([0.71, 0.7], np.float32))
    groups = graph.groups(0.7, None)
    assert [sorted(p.photo_id for p in g.photos) for g in groups] == [[0, 1]]


def test_a_marginal_match_is_not_the_same_photo_when_the_other_way_sees_another_shot() -> None:
    """Two shots of one room from one spot: one way, the wall lines up (81% of the regions, just
    above the 80% needed); the other way, 13 keypoints move on their own (the plant, the book): another
    shot. A confident match (90% or more) stands whatever the other way says (a screenshot's buttons
    can look like a motion of their own); an uninformative check decides nothing."""
    from photosim.core.duplicates import check_verdict
    from photosim.core.matching import Verification

    marginal = Verification(True, True, 24, 26, 0.81)
    another_shot = Verification(False, True, 20, 36, 0.47, second_motion=13)
    plain_miss = Verification(False, True, 20, 36, 0.47, second_motion=2)
    confident = Verification(True, True, 180, 40, 0.95)
    flat = Verification(False, False, 3)
    assert check_verdict((marginal, another_shot)) == "diff"
    assert check_verdict((another_shot, marginal)) == "diff"
    assert check_verdict((marginal, plain_miss)) == "same"
    assert check_verdict((marginal, None)) == "same"
    assert check_verdict((confident, another_shot)) == "same"
    assert check_verdict((plain_miss, None)) == "diff"
    assert check_verdict((flat, None)) is None
    assert check_verdict(None) is None


def test_keep_best_rules_on_measured_files(dup_source: Path) -> None:
    jpeg, png = measure(str(dup_source / "astronaut.jpg")), measure(str(dup_source / "exports" / "astronaut-small.png"))
    assert (jpeg.format, jpeg.width, jpeg.camera, jpeg.origin) == ("JPEG", 512, "PhotosimTest Test 12MP", 2)
    assert (png.format, png.width, png.quality, png.origin) == ("PNG", 256, 100, 0)
    assert 88 <= (jpeg.quality or 0) <= 95 and not jpeg.flat
    assert measure(str(dup_source / "flat" / "white.jpg")).flat
    cands = [Candidate("/a/small.png", png, 10.0, None, False), Candidate("/a/IMG_1.jpg", jpeg, 20.0, 1e9, False)]
    choice = choose_keeper(cands)
    assert choice.keeper == 1 and choice.order == (1, 0)
    choice = choose_keeper(cands, ["older"])  # the user put "older" first
    assert choice.keeper == 0 and choice.reason.startswith("keeps small.png: older file")
    ref = [Candidate("/a/IMG_1.jpg", jpeg, 20.0, None, False), Candidate("/ref/IMG_1.jpg", jpeg, 30.0, None, True)]
    assert choose_keeper(ref).reason == "keeps IMG_1.jpg: inside a reference folder"


def test_a_raw_file_is_measured_through_its_picture_and_kept_over_its_jpeg(tmp_path: Path, originals_dir: Path) -> None:
    """A DNG beside the camera's JPEG of the same shot: the RAW's facts come from its preview (its real
    size and capture time, not an unreadable file's zeros) and keep-best keeps the RAW."""
    from bench.camera_files import write_dng

    picture = Image.open(originals_dir / "astronaut.jpg").convert("RGB")
    when = dt.datetime(2024, 5, 4, 12, 0, 0)
    write_dng(picture, tmp_path / "IMG_0001.dng", taken=when)
    save_jpeg(picture, tmp_path / "IMG_0001.jpg", exif=_exif(when))
    raw, jpeg = measure(str(tmp_path / "IMG_0001.dng")), measure(str(tmp_path / "IMG_0001.jpg"))
    assert raw.raw and raw.format == "DNG" and (raw.width, raw.height) == picture.size
    assert raw.taken_at == jpeg.taken_at and raw.sharpness and raw.keypoints > 100
    choice = choose_keeper([Candidate(str(tmp_path / "IMG_0001.jpg"), jpeg, 20.0, None, False),
                            Candidate(str(tmp_path / "IMG_0001.dng"), raw, 20.0, None, False)])
    assert choice.keeper == 1 and "RAW" in choice.reason


# -- through the library service -------------------------------------------------------------------
@pytest.fixture
def service(library, dup_photos: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:  # noqa: ANN001
    """A started service over the duplicate photos, indexed, after a full duplicate pass; trash in tmp."""
    from photosim.core.service import LibraryService

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    library.catalog.add_folder(str(dup_photos))
    svc = LibraryService(library, watch=False, reconcile_interval=None, backups=False, background_priority=False)
    events: list = []
    svc.subscribe(events.append)
    svc.events = events  # type: ignore[attr-defined]
    svc.start()
    assert svc.wait_idle(120)
    svc.find_duplicates().result(timeout=120)
    yield svc
    svc.stop()


def _group(svc, tier: str, name: str):  # noqa: ANN001, ANN202
    return next((g for g in svc.duplicate_state.groups(tier) if any(p.name == name for p in g.photos)), None)


def test_trash_into_the_system_trash_then_undo_and_reference_folders_are_never_touched(
        service, dup_photos: Path, tmp_path: Path, library) -> None:  # noqa: ANN001
    # the pass published its groups first, then checked pairs from the files in steps, with progress
    steps = [e.progress for e in service.events if isinstance(e, DuplicatesProgressed)]
    assert steps[0].phase == "duplicates: neighbours" and steps[-1].phase == "duplicates: checking pairs"
    assert steps[-1].done == steps[-1].total > 0
    assert sum(isinstance(e, DuplicatesChanged) for e in service.events) >= 2
    group = _group(service, "exact", "chelsea copy.jpg")
    assert group is not None and service.duplicate_state.plan("exact").summary().startswith("1 file")
    victim = group.suggested_trash[0]
    labels_before = library.catalog.labels_of(victim.photo_id)
    assert labels_before is not None
    result = service.accept_suggestions([group]).result(timeout=60)
    assert result.done == (victim.path,) and not os.path.exists(victim.path)
    trashed = tmp_path / "xdg" / "Trash" / "files" / victim.name
    assert trashed.exists()
    info = (tmp_path / "xdg" / "Trash" / "info" / f"{victim.name}.trashinfo").read_text()
    assert "Path=" in info and victim.name.replace(" ", "%20") in info
    assert library.catalog.get_by_path(victim.path) is None and victim.photo_id not in library.index
    assert service.duplicate_state.groups("exact") == []
    assert any(isinstance(e, CleanedUp) for e in service.events)
    assert service.journal(5)[0].action == "trash"

    undone = service.undo_last().result(timeout=60)
    assert undone.done == (victim.path,) and os.path.exists(victim.path) and not trashed.exists()
    row = library.catalog.get_by_path(victim.path)
    assert row is not None and row.fingerprint == victim.fingerprint and row.id in library.index
    # its labels came back with it: the model does not run on it again ("labelled 1 photos indexed
    # before labels existed" after every undo, a model run per file put back)
    assert library.catalog.labels_of(row.id) == labels_before
    from photosim.core.tags import LabelBackfill
    assert LabelBackfill(library).pending() == 0
    assert [p.name for p in service.duplicate_state.groups("exact")[0].photos] == ["chelsea.jpg", "chelsea copy.jpg"]

    # a reference folder: its file becomes the keeper and is never moved, even when asked to
    backup = str(dup_photos / "backup")
    state = service.configure_duplicates(reference_folders=[backup]).result(timeout=60)
    group = state.groups("exact")[0]
    assert group.keeper.path.startswith(backup) and group.reason.endswith("inside a reference folder")
    assert group.members[0].protected and group.suggested_trash[0].name == "chelsea.jpg"
    refused = service.trash_photos([group.keeper.photo_id]).result(timeout=60)
    assert refused.done == () and "reference folder" in refused.refused[0][1]
    assert os.path.exists(group.keeper.path)


def test_decisions_stick_across_renames_and_a_new_member_brings_the_group_back(
        service, dup_photos: Path, originals_dir: Path) -> None:  # noqa: ANN001
    group = _group(service, "same", "coffee-mirror.jpg")
    service.keep_all(group).result(timeout=60)
    assert _group(service, "same", "coffee-mirror.jpg") is None
    assert any(g.decision == "keep_all" for g in service.duplicate_state.groups("same", include_decided=True))
    astronaut = _group(service, "same", "astronaut.jpg")
    service.mark_not_duplicates(astronaut).result(timeout=60)
    assert _group(service, "same", "astronaut.jpg") is None

    # renames and moves: the decisions are about contents, not paths
    os.rename(dup_photos / "edits" / "coffee-mirror.jpg", dup_photos / "edits" / "flipped.jpg")
    os.rename(dup_photos / "exports" / "astronaut-small.png", dup_photos / "astronaut thumb.png")
    service.scan_all()
    assert service.wait_idle(120)
    assert _group(service, "same", "flipped.jpg") is None and _group(service, "same", "astronaut.jpg") is None
    assert service.last_report.moved == 2

    # a new copy joins the coffee group: it comes back, with the new member
    changed = [e for e in service.events if isinstance(e, DuplicatesChanged)]
    save_jpeg(half_size(Image.open(originals_dir / "coffee.jpg")), dup_photos / "coffee-small.jpg")
    service.scan_paths([str(dup_photos / "coffee-small.jpg")])
    assert service.wait_idle(120)
    group = _group(service, "same", "coffee-small.jpg")
    assert group is not None and {p.name for p in group.photos} >= {"coffee.jpg", "flipped.jpg", "coffee-small.jpg"}
    assert len([e for e in service.events if isinstance(e, DuplicatesChanged)]) > len(changed)
    assert _group(service, "same", "astronaut.jpg") is None  # still not duplicates

    # undo the "not duplicates": the astronaut pair is back
    service.undo_last().result(timeout=60)
    assert _group(service, "same", "astronaut.jpg") is not None


def test_incremental_update_compares_a_new_photo_with_its_neighbours_only(
        service, dup_photos: Path, originals_dir: Path) -> None:  # noqa: ANN001
    finder = service.duplicates
    before = finder.checks_made
    save_jpeg(crop_center(Image.open(originals_dir / "rocket.jpg"), 0.7), dup_photos / "rocket-crop.jpg")
    service.scan_paths([str(dup_photos / "rocket-crop.jpg")])
    assert service.wait_idle(120)
    group = _group(service, "same", "rocket-crop.jpg")
    assert group is not None and {p.name for p in group.photos} == {"rocket.jpg", "rocket-crop.jpg"}
    from photosim.core.duplicates import CHECKS_PER_PHOTO

    assert 1 <= finder.checks_made - before <= CHECKS_PER_PHOTO + 2  # its own neighbours, not the library
    os.remove(dup_photos / "rocket-crop.jpg")
    service.scan_paths([str(dup_photos / "rocket-crop.jpg")])
    assert service.wait_idle(120)
    assert _group(service, "same", "rocket.jpg") is None



def test_a_big_run_leaves_its_checks_for_later_steps_and_moves_follow_the_files(
        service, dup_photos: Path, originals_dir: Path, monkeypatch: pytest.MonkeyPatch, library) -> None:  # noqa: ANN001
    import photosim.core.duplicates as duplicates

    monkeypatch.setattr(duplicates, "UPDATE_CHECKS", 0)  # as if the run had brought thousands of photos
    save_jpeg(crop_center(Image.open(originals_dir / "rocket.jpg"), 0.7), dup_photos / "rocket-crop.jpg")
    save_jpeg(mirror(Image.open(originals_dir / "china.jpg")), dup_photos / "china-mirror.jpg")
    service.scan_paths([str(dup_photos / "rocket-crop.jpg"), str(dup_photos / "china-mirror.jpg")])
    assert service.wait_idle(120)  # the checks ran as small writer tasks after the run
    assert service.duplicates.pending == 0 and service.duplicate_state.pending_checks == 0
    assert _group(service, "same", "rocket-crop.jpg") is not None and _group(service, "same", "china-mirror.jpg")

    # moving: inside a watched folder the photo stays in the library (its group follows); outside it leaves
    group = _group(service, "same", "china-mirror.jpg")
    mirror_photo = next(p for p in group.photos if p.name == "china-mirror.jpg")
    moved = service.move_photos([mirror_photo.photo_id], str(dup_photos / "sorted")).result(timeout=60)
    assert moved.done == (mirror_photo.path,) and (dup_photos / "sorted" / "china-mirror.jpg").exists()
    group = _group(service, "same", "china-mirror.jpg")
    assert group is not None and str(dup_photos / "sorted" / "china-mirror.jpg") in {p.path for p in group.photos}
    rocket = next(p for p in _group(service, "same", "rocket-crop.jpg").photos if p.name == "rocket-crop.jpg")
    service.move_photos([rocket.photo_id], str(dup_photos.parent / "elsewhere")).result(timeout=60)
    assert library.catalog.get_by_path(str(dup_photos.parent / "elsewhere" / "rocket-crop.jpg")) is None
    assert _group(service, "same", "rocket-crop.jpg") is None
    service.undo_last().result(timeout=60)  # back where it was, and back in the library with its vector
    assert (dup_photos / "rocket-crop.jpg").exists() and _group(service, "same", "rocket-crop.jpg") is not None


def test_settings_files_from_before_keep_working(tmp_path: Path) -> None:
    import json

    from photosim.core.keepbest import DEFAULT_RULES
    from photosim.core.settings import SIMILAR_DEFAULT, load_settings, save_settings

    (tmp_path / "settings.json").write_text(json.dumps({"device": "cpu", "results": 30, "thumb_size": 128,
                                                        "excluded": []}))
    old = load_settings(tmp_path)
    assert (old.device, old.results, old.keep_rules, old.reference_folders, old.similar_threshold) == (
        "cpu", 30, list(DEFAULT_RULES), [], SIMILAR_DEFAULT)
    (tmp_path / "settings.json").write_text(json.dumps({"keep_rules": ["older", "nonsense", "older"],
                                                        "reference_folders": ["/photos/masters", 3],
                                                        "similar_threshold": "high"}))
    odd = load_settings(tmp_path)
    assert odd.keep_rules[0] == "older" and sorted(odd.keep_rules) == sorted(DEFAULT_RULES)
    assert odd.reference_folders == ["/photos/masters"] and odd.similar_threshold == SIMILAR_DEFAULT
    save_settings(tmp_path, odd)
    assert load_settings(tmp_path) == odd


def test_resolution_rule_keeps_the_original_over_a_bigger_screenshot_of_it() -> None:
    """A screenshot can have more pixels than the photo it shows, yet hold the photo at a lower
    resolution: the "resolution" rule (from the same-photo check's alignment) decides before "pixels";
    between a crop and its original (same resolution) "pixels" still decides."""
    from photosim.core.keepbest import normalize_rules
    from photosim.core.photofacts import ContentFacts

    def facts(w: int, h: int) -> ContentFacts:
        return ContentFacts(format="JPEG", width=w, height=h, content_width=w, content_height=h, quality=90,
                            sharpness=100.0, keypoints=500, camera=None, software=None, taken_at=None, colour=())

    original = Candidate("/p/coffee.jpg", facts(600, 400), 1.0, None, False, 1.0)
    shot = Candidate("/p/Screenshot_0941.jpg", facts(400, 1000), 2.0, None, False, 0.67)
    crop = Candidate("/p/coffee-crop.jpg", facts(400, 267), 3.0, None, False, 1.02)
    choice = choose_keeper([shot, original, crop])
    assert choice.order == (1, 2, 0), choice  # the screenshot drops out first, then the crop by pixels
    assert choose_keeper([shot, original]).reason == "keeps coffee.jpg: holds the photo at 1.5x the resolution"
    assert choose_keeper([crop, original]).reason.startswith("keeps coffee.jpg: 0.24 MP vs 0.11 MP")
    unmeasured = Candidate("/p/Screenshot_0941.jpg", facts(400, 1000), 2.0, None, False, None)
    assert choose_keeper([unmeasured, original]).keeper == 0  # not measured for all: "pixels" decides, as before
    # a settings file written before the rule existed gets it just before "pixels"
    assert normalize_rules(["older", "pixels"])[:3] == ("older", "resolution", "pixels")


def test_a_bigger_screenshot_of_a_photo_is_grouped_with_it_and_the_original_kept(
        tmp_path: Path, originals_dir: Path, embedder) -> None:  # noqa: ANN001
    """End to end: a phone screenshot (540 x 1170: more than twice the pixels of the 600 x 400 photo,
    which it shows 540 pixels wide) lands in its original's group, and the original is the keeper, for
    its resolution (1.1x: the check's alignment measures it to a fraction of a percent)."""
    from PIL import ImageDraw, ImageOps


    photos = tmp_path / "photos"
    photos.mkdir()
    coffee = Image.open(originals_dir / "coffee.jpg").convert("RGB")
    save_jpeg(coffee, photos / "coffee.jpg")
    screen = Image.new("RGB", (540, 1170), (250, 250, 250))
    draw = ImageDraw.Draw(screen)
    draw.text((16, 10), "09:41", fill=(20, 20, 20))
    draw.text((14, 50), "<  Photos", fill=(20, 20, 20))
    fitted = ImageOps.contain(coffee, (540, 850))
    screen.paste(fitted, (0, (1170 - fitted.height) // 2))
    for x in range(50, 540, 135):
        draw.ellipse((x, 1040, x + 40, 1080), outline=(20, 20, 20), width=2)
    save_jpeg(screen, photos / "Screenshot_0941.jpg", quality=85)
    with finder_over(photos, tmp_path / "data", embedder) as (_lib, finder):
        same = finder.state.groups("same")
        assert [names(g) for g in same] == [{"coffee.jpg", "Screenshot_0941.jpg"}], [g.reason for g in same]
        group = same[0]
        assert group.keeper.name == "coffee.jpg", group.reason
        assert group.reason.startswith("keeps coffee.jpg: holds the photo at 1.1x the resolution"), group.reason


def test_a_collage_is_not_a_copy_of_its_photos_and_never_ties_them_together(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    """Found trying the app: four room photos and their 2 x 2 collage (each photo at half its size in
    it) were one "same photo" group of six, and the suggestion kept one photo and moved the three other
    originals and the collage to the trash. A collage holds reduced copies of different photos side by
    side: it is a picture of its own. Crops of one photo, which its original holds at full resolution,
    still group with it."""
    from interior_photos import get_all_photos

    from photosim.core.duplicates import DuplicateFinder

    photos = tmp_path / "photos"
    photos.mkdir()
    rooms = []
    for i, source in enumerate(sorted(get_all_photos())[30:34]):
        room = Image.open(source).convert("RGB").resize((1200, 900), Image.Resampling.LANCZOS)
        save_jpeg(room, photos / f"room{i}.jpg")
        rooms.append(room)
    collage = Image.new("RGB", (1200, 900), (255, 255, 255))
    for i, room in enumerate(rooms):
        collage.paste(room.resize((594, 444), Image.Resampling.LANCZOS), ((i % 2) * 606, (i // 2) * 456))
    save_jpeg(collage, photos / "collage.jpg")
    save_jpeg(rooms[0].crop((0, 0, 780, 900)), photos / "room0-left.jpg")  # crops, at full resolution
    save_jpeg(rooms[0].crop((420, 0, 1200, 900)), photos / "room0-right.jpg")
    with finder_over(photos, tmp_path / "data", embedder) as (lib, finder):
        same = finder.state.groups("same")
        assert [names(g) for g in same] == [{"room0.jpg", "room0-left.jpg", "room0-right.jpg"}], \
            [(names(g), g.reason) for g in same]
        assert same[0].keeper.name == "room0.jpg"
        # A library whose checks were cached by a version that did not record where: the app's quick
        # start (no file read) trusts none of their "same photo" verdicts, and its steps make them again.
        import json

        from photosim.core.duplicates import CHECK_VERSION

        stored = lib.catalog.pair_checks(CHECK_VERSION)
        lib.catalog.put_pair_checks({key: json.dumps({way: (v[:8] if v else v) for way, v in json.loads(text).items()})
                                     for key, text in stored.items()}, CHECK_VERSION)
        upgraded = DuplicateFinder(lib)
        upgraded.start_pass()
        assert upgraded.state.groups("same") == [] and upgraded.pending
        while upgraded.check_pending() is not None:
            pass
        assert [names(g) for g in upgraded.state.groups("same")] == [{"room0.jpg", "room0-left.jpg", "room0-right.jpg"}]
    # where the check puts a photo in the collage (the bottom left quarter), both ways round
    from photosim.core.matching import GeometricVerifier

    verifier = GeometricVerifier()
    inside = verifier.verify(str(photos / "room2.jpg"), str(photos / "collage.jpg"))
    assert inside.same and np.allclose(inside.placement, (0.0, 0.507, 0.495, 1.0), atol=0.03), inside
    around = verifier.verify(str(photos / "collage.jpg"), str(photos / "room2.jpg"))
    assert around.same and np.allclose(around.placement, (0.0, -1.03, 2.02, 1.0), atol=0.06), around


def test_two_frames_that_only_overlap_are_not_the_same_photo(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    """Found trying the app: photos of different animals pasted onto different crops of one room were
    a "same photo" group of eight (the room lined up where the crops overlapped), and seven were
    suggested for the trash. Two frames that only overlap each show what the other does not: the
    left and the right two thirds of a room are not the same photo, though each is a crop of the room
    (the three are one group, the whole room kept)."""
    from interior_photos import get_all_photos

    from photosim.core.indexer import Indexer
    from photosim.core.matching import GeometricVerifier

    photos = tmp_path / "photos"
    room = Image.open(sorted(get_all_photos())[31]).convert("RGB").resize((1600, 1200), Image.Resampling.LANCZOS)
    left, right = room.crop((0, 0, 1040, 1200)), room.crop((560, 0, 1600, 1200))
    save_jpeg(left, photos / "left.jpg")
    save_jpeg(right, photos / "right.jpg")
    check = GeometricVerifier().verify(str(photos / "left.jpg"), str(photos / "right.jpg"))
    assert not check.same and check.overlapping and "only overlap" in check.reason, check
    with finder_over(photos, tmp_path / "data", embedder) as (lib, finder):
        assert finder.state.groups("same") == []
        save_jpeg(room, photos / "room.jpg")
        Indexer(lib).run()
        finder.update([str(photos / "room.jpg")])
        same = finder.state.groups("same")
        assert [names(g) for g in same] == [{"room.jpg", "left.jpg", "right.jpg"}], [g.reason for g in same]
        assert same[0].keeper.name == "room.jpg"
        # With the left frame the group's centre (it has a capture time), the right frame is the same
        # photo as two members (the room and a smaller copy of it); that must not override the
        # centre's own check, which saw two frames that only overlap.
        save_jpeg(left, photos / "left.jpg", exif=_exif(dt.datetime(2024, 5, 4, 12, 0, 0)))
        save_jpeg(half_size(room), photos / "room-half.jpg")
        Indexer(lib).run()
        finder.full_pass()
        same = finder.state.groups("same")
        assert not any({"left.jpg", "right.jpg"} <= names(g) for g in same), [names(g) for g in same]
        assert any({"left.jpg", "room.jpg", "room-half.jpg"} <= names(g) for g in same), [names(g) for g in same]
