"""Running the embedding model with onnxruntime instead of torch: what the installed app uses.

Why: the registry's torch is a multi-gigabyte CUDA build, and a person who downloads the app to find
similar photos on a laptop should not have to download that. At build time the backbone's torch module
(whatever feature recipe it has then) is exported to ONNX by :mod:`photosim.core.onnx_export`, together
with its preprocessing normalisation, and stored with the backbone's ``model_id`` inside the file. The
frozen app then needs only numpy, Pillow and onnxruntime; the vectors match the torch path to cosine
>= 0.999 (a test proves it on real photos) and carry the same ``model_id``, so a library indexed by the
development install keeps working in the installed app and vice versa.

:class:`OnnxEmbedder` has the same interface as :class:`photosim.core.embedder.Embedder`
(``backbone``, ``model_id``, ``dim``, ``device``, ``prepare``, ``embed_arrays``, ``embed_images``).
Nothing here imports torch. The GPU path is onnxruntime-gpu's CUDA execution provider where that
package is installed; otherwise the CPU provider runs.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .embedder import ENGINE_DEVICES, Backbone, BatchedEmbedder, EmbedderError, resolve_backbone

log = logging.getLogger(__name__)

#: A folder holding exported ``*.onnx`` models; searched before the models bundled with the package.
MODEL_DIR_ENV = "PHOTOSIM_MODEL_DIR"
#: Keys of the ONNX file's ``metadata_props`` written by the exporter.
META_MODEL_ID = "photosim.model_id"
META_DIM = "photosim.dim"
META_INPUT = "photosim.input"
#: How many class probabilities follow the vector in each output row (0 or absent: none).
META_CLASSES = "photosim.classes"
#: The exported graph takes prepared photos exactly as :meth:`Backbone.prepare` returns them, stacked.
INPUT_LAYOUT = "uint8 NHWC"


def model_file_name(model_id: str) -> str:
    """The file an exported model is stored under: the model_id made filesystem-safe."""
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in model_id)
    return f"{safe}.onnx"


def bundled_model_dir() -> Path:
    """``photosim/models`` beside the package: where the installer puts the exported model.

    In a PyInstaller bundle ``photosim.__file__`` lies inside the bundle's ``_internal`` folder, so
    the same package-relative path works for the frozen app and for a source tree that holds a model.
    """
    return Path(__file__).resolve().parent.parent / "models"


def model_search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(MODEL_DIR_ENV):
        dirs.append(Path(os.environ[MODEL_DIR_ENV]).expanduser())
    dirs.append(bundled_model_dir())
    return dirs


def find_model(model_id: str) -> Path:
    """The exported model for ``model_id``; a clear error naming the places searched otherwise."""
    name = model_file_name(model_id)
    dirs = model_search_dirs()
    for folder in dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    where = ", ".join(str(d) for d in dirs)
    raise EmbedderError(
        f"no ONNX model for {model_id} ({name}) in {where}; export one with "
        f"'python -m photosim.core.onnx_export DIR' (needs torch) and set {MODEL_DIR_ENV}=DIR"
    )


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_device(requested: str = "auto") -> str:
    """Resolve a device request against onnxruntime's providers: cuda where the GPU build has it, else cpu.

    Apple's MPS has no onnxruntime equivalent that keeps the 0.999 cosine bar (CoreML runs in fp16),
    so "mps" falls back to the CPU with a warning rather than failing the app on a Mac.
    """
    import onnxruntime as ort

    requested = (requested or "auto").lower()
    if requested not in ENGINE_DEVICES:
        raise EmbedderError(f"unknown device '{requested}' (choose from {', '.join(ENGINE_DEVICES)})")
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if requested == "auto":
        return "cuda" if cuda else "cpu"
    if requested == "cuda" and not cuda:
        raise EmbedderError("no CUDA GPU is available to onnxruntime (install onnxruntime-gpu, or use --device cpu)")
    if requested == "mps":
        log.warning("the ONNX runtime has no Apple MPS path; running on the CPU")
        return "cpu"
    return requested


class OnnxEmbedder(BatchedEmbedder):
    """Runs an exported backbone with onnxruntime; thread-safe (calls serialised), loaded once."""

    precision = "fp32"

    def __init__(
        self,
        backbone: Backbone | str | None = None,
        device: str = "auto",
        batch_size: int = 32,
        model_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        *,
        model_data: bytes | None = None,
    ) -> None:
        """``model_data``: the graph's bytes, already read and checked (the data folder's cached graph,
        :mod:`photosim.core.model_cache`); ``model_path`` then only names it in messages."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EmbedderError("onnxruntime is not installed, and neither is torch: no way to run the model") from exc
        backbone = resolve_backbone(backbone)
        self.backbone = backbone
        self.batch_size = batch_size
        if model_path is not None:
            path = Path(model_path)
        elif model_data is not None:
            path = Path("<the cached model graph>")
        else:
            path = find_model(backbone.model_id)
        wanted = onnx_device(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # warnings from providers that are not there are noise here
        # onnxruntime's threads spin after each run, waiting for the next: with decode or verification
        # threads wanting the same cores that cost a command-line search 0.15-0.3 s of CPU (measured),
        # for no gain: a query makes one or two runs, and the indexer's decoders keep the cores busy.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers: list[Any] = ["CPUExecutionProvider"]
        if wanted == "cuda":
            providers.insert(0, "CUDAExecutionProvider")
        try:
            source = model_data if model_data is not None else str(path)
            self._session = ort.InferenceSession(source, sess_options=options, providers=providers)
        except Exception as exc:
            raise EmbedderError(f"cannot load the ONNX model {path}: {exc}") from exc
        meta = self._session.get_modelmeta().custom_metadata_map
        stored_id = meta.get(META_MODEL_ID)
        if stored_id != backbone.model_id:
            # Vectors of different recipes must never be mixed in one index.
            raise EmbedderError(
                f"the ONNX model {path} computes {stored_id or 'unknown'} vectors, but this library uses "
                f"{backbone.model_id}; re-export the model"
            )
        if int(meta.get(META_DIM, backbone.dim)) != backbone.dim:
            raise EmbedderError(f"the ONNX model {path} gives {meta.get(META_DIM)}-d vectors, expected {backbone.dim}")
        active = self._session.get_providers()
        if wanted == "cuda" and "CUDAExecutionProvider" not in active:
            # onnxruntime silently falls back when CUDA/cuDNN libraries cannot be loaded.
            if (device or "auto").lower() == "cuda":
                raise EmbedderError("onnxruntime could not start its CUDA provider (missing CUDA/cuDNN libraries?)")
            log.warning("onnxruntime could not start its CUDA provider; running on the CPU")
            wanted = "cpu"
        self.device = wanted
        self.model_path = path
        self._input = self._session.get_inputs()[0].name
        #: Class probabilities per photo after the vector (0 for a file exported without them).
        self.classes = int(meta.get(META_CLASSES, 0) or 0)
        self._lock = threading.Lock()
        log.info("model %s on %s via onnxruntime (%s)", backbone.model_id, self.device, path)

    def _run(self, nhwc: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(nhwc, dtype=np.uint8)})[0]
