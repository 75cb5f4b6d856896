"""A one-second command line: searches run the cached ONNX graph, and status needs no model at all.

Why these tests: ``photosim search`` used to import torch (and timm) for one forward pass, and
``photosim status`` imported torch to name the device. The quick path must find the same photos, with
the same "same photo" verdicts, as the torch path; the graph it runs must be made once per library,
reused, and rebuilt when it is stale or damaged; and the commands that need no model must not import
one (checked on ``sys.modules`` in a fresh process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosim.core import model_cache
from photosim.core.embedder import EfficientNetLite0
from tests.photos import crop_center, sample_images, save_jpeg

pytest.importorskip("onnxruntime", reason="the quick path runs onnxruntime (dev extra)")
pytest.importorskip("onnx", reason="the cached graph is exported with onnx (dev extra)")

MODEL_ID = EfficientNetLite0.model_id
WATCHED = ("torch", "timm", "torchvision", "onnxruntime", "cv2")
DRIVER = (
    "import json, sys\n"
    "from photosim.cli import main\n"
    "code = main(sys.argv[1:])\n"
    f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({WATCHED!r}))\n"
    "print('MODULES ' + json.dumps(loaded), flush=True)\n"
    "sys.exit(code)\n"
)


def _photosim(*args: str, env: dict[str, str] | None = None) -> tuple[list[dict], list[str]]:
    """Run a command in a new process; (its JSON lines, the watched modules it imported)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PHOTOSIM_RUNTIME", "PHOTOSIM_MODEL_DIR", model_cache.ENABLE_ENV)}
    environment.update(env or {})
    proc = subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True, env=environment,
                          timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    lines = proc.stdout.splitlines()
    modules = json.loads(next(line for line in lines if line.startswith("MODULES "))[8:])
    found = [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]
    return found, modules


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, originals_dir: Path, embedder) -> dict[str, Path]:  # noqa: ANN001
    """A library of eight real photos (indexed in this process) and an edited copy of one of them."""
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library
    from tests.conftest import SMALL_SET

    root = tmp_path_factory.mktemp("quick")
    folder = root / "photos"
    folder.mkdir()
    for name in SMALL_SET:
        shutil.copy(originals_dir / f"{name}.jpg", folder / f"{name}.jpg")
    with Library(root / "data", embedder=embedder) as lib:
        lib.catalog.add_folder(folder)
        assert Indexer(lib, workers=2).run().indexed == len(SMALL_SET)
    query = save_jpeg(crop_center(sample_images(n_interior=0)["coffee"], 0.75), root / "query.jpg", quality=60)
    return {"data": root / "data", "query": query}


@pytest.fixture(scope="module")
def first_search(indexed: dict[str, Path]) -> tuple[list[dict], list[str]]:
    """The first search of a library: no cached graph yet, so torch answers and the graph is built."""
    assert model_cache.graph_state(indexed["data"], MODEL_ID)[0] == model_cache.MISSING
    return _photosim("search", str(indexed["query"]), "-k", "5", "--json", "--data-dir", str(indexed["data"]))


def test_the_first_search_answers_with_torch_then_caches_the_graph(first_search, indexed) -> None:  # noqa: ANN001
    found, modules = first_search
    assert "torch" in modules and "timm" not in modules  # photosim's own network: no timm
    assert Path(found[0]["results"][0]["path"]).name == "coffee.jpg"
    assert found[0]["results"][0]["match"] == "same"
    state, graph = model_cache.graph_state(indexed["data"], MODEL_ID)
    assert state == model_cache.READY and graph is not None


def test_later_searches_run_the_cached_graph_and_find_the_same(first_search, indexed) -> None:  # noqa: ANN001
    graph_file = model_cache.graph_path(indexed["data"], MODEL_ID)
    built = graph_file.stat().st_mtime_ns
    found, modules = _photosim("search", str(indexed["query"]), "-k", "5", "--json", "--data-dir", str(indexed["data"]))
    assert "onnxruntime" in modules and "torch" not in modules
    quick = [(Path(r["path"]).name, r["match"]) for r in found[0]["results"]]
    slow = [(Path(r["path"]).name, r["match"]) for r in first_search[0][0]["results"]]
    assert quick == slow  # the same photos, the same verdicts, in the same order
    assert (found[0]["same"], found[0]["similar"]) == (first_search[0][0]["same"], first_search[0][0]["similar"])
    assert graph_file.stat().st_mtime_ns == built  # reused, not rebuilt


def test_status_and_word_search_import_no_model(first_search, indexed) -> None:  # noqa: ANN001
    _found, modules = _photosim("status", "--json", "--data-dir", str(indexed["data"]))
    assert not {"torch", "onnxruntime", "cv2"} & set(modules)
    found, modules = _photosim("search", "--text", "cat", "--json", "--data-dir", str(indexed["data"]))
    assert not {"torch", "onnxruntime", "cv2"} & set(modules)
    assert found and "results" in found[0]


def test_a_stale_or_damaged_graph_is_not_used_and_is_rebuilt(first_search, indexed, tmp_path,  # noqa: ANN001
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from photosim.core.embedder import Embedder
    from photosim.core.library import Library
    from photosim.core.onnx_embedder import OnnxEmbedder

    monkeypatch.delenv(model_cache.ENABLE_ENV)
    data = tmp_path / "data"
    shutil.copytree(indexed["data"], data)
    stamp = model_cache.stamp_path(data, MODEL_ID)
    original = json.loads(stamp.read_text())

    stamp.write_text(json.dumps({**original, "format": model_cache.EXPORT_FORMAT - 1}))  # an older photosim's
    assert model_cache.graph_state(data, MODEL_ID)[0] == model_cache.STALE
    with Library(data, writable=False, for_queries=True) as lib:
        assert lib.embedder.__class__.__name__ == "Embedder"  # torch answers meanwhile
        assert lib.query_graph_wanted

    stamp.write_text(json.dumps(original))
    graph_file = model_cache.graph_path(data, MODEL_ID)
    damaged = bytearray(graph_file.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte in the weights: onnxruntime would load it
    graph_file.write_bytes(bytes(damaged))
    assert model_cache.graph_state(data, MODEL_ID)[0] == model_cache.DAMAGED
    stamp.unlink()  # a build killed between the file and its stamp
    assert model_cache.graph_state(data, MODEL_ID)[0] == model_cache.DAMAGED

    with Library(data, writable=False, for_queries=True) as lib:
        assert lib.build_query_graph()
    state, graph = model_cache.graph_state(data, MODEL_ID)
    assert state == model_cache.READY and graph is not None
    images = list(sample_images(n_interior=4).values())[:8]
    quick = OnnxEmbedder(device="cpu", model_path=graph.path, model_data=graph.data).embed_images(images)
    full = Embedder(device="cpu", precision="fp32").embed_images(images)
    assert float((quick * full).sum(axis=1).min()) >= 0.999
    assert np.allclose(np.linalg.norm(quick, axis=1), 1.0, atol=1e-4)


def test_only_one_process_builds_the_graph_at_a_time(indexed, tmp_path) -> None:  # noqa: ANN001
    from filelock import FileLock

    folder = tmp_path / "data" / model_cache.GRAPH_FOLDER
    folder.mkdir(parents=True)
    with FileLock(str(folder / model_cache.BUILD_LOCK)):  # another process is exporting
        assert model_cache.build_graph(tmp_path / "data", EfficientNetLite0()) is None
    assert model_cache.graph_state(tmp_path / "data", MODEL_ID)[0] == model_cache.MISSING
