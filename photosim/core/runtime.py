"""Choosing how the model runs: torch (development install) or onnxruntime (the installed app).

One small factory so that :class:`photosim.core.library.Library` never has to know which runtime
exists. ``auto`` picks torch when torch is importable (it keeps CUDA and MPS), and the
exported ONNX model otherwise, which is what happens in the frozen app, where torch is not bundled.
``PHOTOSIM_RUNTIME=torch|onnx`` forces one (tests use it to compare both on the same photos).
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from .embedder import Analysis, Backbone, EmbedderError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .model_cache import CachedGraph

RUNTIME_ENV = "PHOTOSIM_RUNTIME"
RUNTIMES = ("auto", "torch", "onnx")


class EmbedderLike(Protocol):
    """What the engine needs from an embedder, whichever runtime backs it."""

    backbone: Backbone
    device: str

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def prepare(self, image: Image.Image) -> np.ndarray: ...

    def embed_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray: ...

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...

    def analyse_arrays(self, arrays: Sequence[np.ndarray]) -> Analysis: ...


def torch_available() -> bool:
    """torch importable (checked without importing it: importing torch takes seconds). timm is no
    longer needed to run the model (photosim.core.lite0 defines the network)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a finder that refuses them counts as "not installed"
        return False


def chosen_runtime(requested: str | None = None) -> str:
    """``torch`` or ``onnx``: the explicit request, else ``$PHOTOSIM_RUNTIME``, else what is installed."""
    runtime = (requested or os.environ.get(RUNTIME_ENV) or "auto").lower()
    if runtime not in RUNTIMES:
        raise EmbedderError(f"unknown runtime '{runtime}' (choose from {', '.join(RUNTIMES)})")
    if runtime == "auto":
        return "torch" if torch_available() else "onnx"
    return runtime


def create_embedder(backbone: Backbone, device: str = "auto", runtime: str | None = None,
                    graph: CachedGraph | None = None) -> EmbedderLike:
    """Build the embedder for ``backbone`` on ``device`` with the chosen runtime; ``graph``: an ONNX
    graph already read and checked (the data folder's cache) for the onnx runtime to run instead of
    the exported model it would look for."""
    if chosen_runtime(runtime) == "torch":
        from .embedder import Embedder

        return Embedder(backbone, device=device)
    from .onnx_embedder import OnnxEmbedder

    if graph is not None:
        return OnnxEmbedder(backbone, device=device, model_path=graph.path, model_data=graph.data)
    return OnnxEmbedder(backbone, device=device)


def default_device(runtime: str | None = None) -> str:
    """The device ``auto`` resolves to with the chosen runtime (for status displays); cpu on any doubt."""
    from .devices import describe_default

    return describe_default(runtime)
