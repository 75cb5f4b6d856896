"""What a new process no longer waits for: the model while photos decode, OpenCV for clear-cut queries.

Why: ``photosim index`` spent its first seconds importing torch and building the network before the
first photo was decoded, and every ``photosim search`` imported OpenCV and ran ORB on the query even
when no candidate could be a copy. Both are now overlapped or skipped; these tests keep it so, and
check that the answers do not change.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from photosim.core import indexer as indexer_module
from photosim.core import matching
from photosim.core.devices import ComputePlan, LoadedModel
from photosim.core.indexer import Indexer
from photosim.core.library import Library


def test_photos_decode_while_the_model_loads(photo_dir: Path, tmp_path: Path, embedder,  # noqa: ANN001
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, float]] = []

    def slow_load(backbone, choice="auto", runtime=None):  # noqa: ANN001, ANN202 - the real model, late
        time.sleep(1.5)
        events.append(("model", time.monotonic()))
        return LoadedModel(embedder, ComputePlan("auto", "torch", "cpu"))

    decode = indexer_module.decode_photo

    def noted_decode(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        events.append(("decode", time.monotonic()))
        return decode(*args, **kwargs)

    monkeypatch.setattr("photosim.core.library.load_embedder", slow_load)
    monkeypatch.setattr(indexer_module, "decode_photo", noted_decode)
    with Library(tmp_path / "data", device="cpu") as lib:
        lib.catalog.add_folder(photo_dir)
        report = Indexer(lib, workers=2).run()
        assert report.indexed == 8 and report.failed == 0
        model_ready = next(t for kind, t in events if kind == "model")
        decoded_early = [t for kind, t in events if kind == "decode" and t < model_ready]
        assert len(decoded_early) == 8  # all eight decoded while the model was still loading
        # ...and the vectors are the model's own.
        ids, vectors = next(lib.catalog.iter_embeddings(lib.model_id))
        row = lib.catalog.get(int(ids[0]))
        assert row is not None
    from photosim.core.images import decode as plain_decode

    expected = embedder.embed_images([plain_decode(row.path, embedder.backbone.decode_min_side)])[0]
    assert float(expected @ vectors[0] / np.linalg.norm(vectors[0])) > 0.999


def test_a_model_that_fails_to_load_fails_the_run_not_the_decoders(photo_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from photosim.core.embedder import EmbedderError

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise EmbedderError("weights missing")

    monkeypatch.setattr("photosim.core.library.load_embedder", broken)
    with Library(tmp_path / "data", device="cpu") as lib:
        lib.catalog.add_folder(photo_dir)
        with pytest.raises(EmbedderError, match="weights missing"):
            Indexer(lib, workers=2).run()
        assert lib.catalog.counts()["indexed"] == 0
    assert threading.active_count() < 20  # no decode threads left behind


class _SpyVerifier(matching.GeometricVerifier):
    def __init__(self) -> None:
        super().__init__()
        self.computed: list[object] = []

    def _compute(self, image, source=None):  # noqa: ANN001, ANN202
        self.computed.append(image)
        return super()._compute(image, source)


def test_clear_cut_queries_skip_the_geometric_check(full_photo_dir: Path) -> None:
    """Candidates far below the copy gate: no picture is read, OpenCV is not needed."""
    rng = np.random.default_rng(0)
    sample = rng.normal(size=(200, 64)).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    query = sample[0]
    background = matching.Background.of(query, sample)
    spy = _SpyVerifier()
    test = matching.SamePhotoTest(sample, spy)
    photos = sorted(full_photo_dir.glob("*.jpg"))[:3]
    query_file = full_photo_dir / "query-copy.jpg"
    query_file.write_bytes(photos[0].read_bytes())
    low = [background.level + matching.VERIFY_MARGIN - 0.05] * 3
    decisions = test.classify(query, low, photos, query_file)
    assert [d.match for d in decisions] == ["similar"] * 3 and spy.computed == []
    # A close call: the query and the candidates are read (side by side) and verified.
    decisions = test.classify(query, [background.level + 0.2, *low[:2]], photos, query_file)
    assert decisions[0].same and decisions[0].verification is not None  # the photo against itself
    assert len(spy.computed) == 2  # the query and the one candidate worth a look, nothing else


def test_mirrored_keypoints_are_computed_only_for_a_query(full_photo_dir: Path) -> None:
    from PIL import ImageOps

    from photosim.core.images import decode

    verifier = matching.GeometricVerifier()
    path = sorted(full_photo_dir.glob("*.jpg"))[0]
    candidate = verifier.features(path)
    assert candidate._mirror is None  # not needed to be checked against
    mirrored = ImageOps.mirror(decode(path, matching.VERIFY_SIDE))
    verdict = verifier.verify(mirrored, path)
    assert verdict.same and verdict.mirrored  # found through the query's mirrored keypoints
    assert candidate._mirror is None


def test_a_loaded_model_is_out_of_the_garbage_collectors_reach(tmp_path: Path, embedder,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Why: a full collection walked every module, class and tensor in the process (about 240,000
    objects, 140-280 ms with the GIL held), and when one ran during indexing the window froze that long
    (the event-loop test caught a 280 ms stall). Loading the model freezes what is alive then."""
    import gc

    monkeypatch.setattr("photosim.core.library.load_embedder",
                        lambda backbone, choice="auto", runtime=None: LoadedModel(embedder, ComputePlan("auto", "torch", "cpu")))
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with Library(tmp_path / "data", device="cpu") as library:
        _ = library.embedder
        frozen = gc.get_freeze_count()
        assert frozen > 50_000  # modules, classes and the model's parameters
        assert len(gc.get_objects()) < frozen / 4  # what a full collection still walks
