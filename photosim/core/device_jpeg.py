"""Camera JPEGs decoded where the model runs: nvJPEG on a CUDA GPU, in batches (the GPU path).

Why: on a GPU the model embeds photos far faster than CPU cores can decode them. Even at the 1/8
DCT scale a 12 MP JPEG costs about 20 ms of a core, so a 16-core machine would feed a GPU at most
~800 photos a second with nothing left for reading files. ``torchvision.io.decode_jpeg`` decodes a
list of JPEGs on the GPU in one call; the preparation below then runs there too, and only a small
grey probe per photo comes back to the CPU.

The steps reproduce the CPU recipe (:func:`photosim.core.images.decode_photo` with a draft to the
model's input size, then :meth:`photosim.core.embedder.EfficientNetLite0.prepare`):

1. decode at full size (nvJPEG has no reduced-size decoding), then average 8x8 blocks: what
   libjpeg's 1/8 scale computes (only each block's DC coefficient, which is its mean);
2. turn the picture upright as its EXIF orientation says (Pillow's ``exif_transpose``);
3. find letterbox bars on a grey probe made exactly as Pillow makes it (``reduce`` then
   ``convert("L")``, the same integer arithmetic), with the CPU path's own
   :func:`~photosim.core.embedder.content_box_of_probe`;
4. squash what is left to the input size with Pillow's bicubic filter, reproduced exactly: its
   coefficients (a = -0.5, widened when reducing), their 22-bit fixed point, the horizontal pass
   first with a rounded 8-bit result, then the vertical pass. From the same pixels the result is
   bit for bit Pillow's for camera-shaped (4:3) pictures (a test checks it); for some other shapes
   Pillow 13 runs its vertical pass first, and a few pixels then differ by a level or two.

Only JPEGs that Pillow would draft at the 1/8 scale take this path (a short side of at least 8x the
input, 1792 px: camera and phone photos), in RGB or grey, below about 10,000 px a side. For 1/2 and
1/4 scales libjpeg keeps more than the block means and a full decode does not reproduce it as
closely (cosine 0.997 at worst on the test photos against >= 0.999 at 1/8); those photos are small
and cheap to decode on the CPU, so they go there, like PNG, HEIC and everything else.

On the CPU the same code runs with torchvision's libjpeg-turbo decoder: that is what the tests
exercise (no GPU is needed to check the numbers), and the vectors agree with the Pillow path to
cosine >= 0.999. Where no CUDA device is used, the indexer never takes this path: Pillow's reduced
decode is 3x cheaper than a full decode on a CPU. torchvision deprecates its image decoders in
favour of TorchCodec; they are still there in 0.29.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from .embedder import content_box_of_probe, probe_factor
from .images import FileRead

log = logging.getLogger(__name__)

DCT_SCALE = 8
"""The reduced-size decode that is reproduced: libjpeg's 1/8 (block means)."""
MAX_DRAFT_SIDE_FACTOR = 6
"""Beyond this draft size (6x the input a side) Pillow reduces before resampling (its
``reducing_gap``), which is not reproduced: such photos (over ~10,000 px a side) go to the CPU."""
DECODE_CHUNK = 32
"""JPEGs decoded per call: 32 full-size 12 MP pictures take 1.2 GB of GPU memory."""
ORIENTATION = 0x0112


@dataclass(frozen=True)
class JpegHeader:
    """What the catalog records about a photo, read from a JPEG's header without decoding pixels."""

    orientation: int
    width: int
    height: int
    taken_at: float | None


def jpeg_header(read: FileRead, input_size: int) -> JpegHeader | None:
    """The header of a JPEG the device path takes; None for any other file (the CPU decodes it).

    ``width`` and ``height`` are the upright full size, as :func:`photosim.core.images.decode_photo`
    reports them.
    """
    if read.data is None or read.data[:3] != b"\xff\xd8\xff":
        return None
    if b"\xff\xd9" not in read.data[-4096:]:
        # No end-of-image marker near the end: likely truncated. libjpeg on the device would return
        # the partial picture where Pillow (as photosim uses it) refuses the file; let Pillow decide.
        return None
    try:
        with Image.open(io.BytesIO(read.data)) as im:
            if im.format != "JPEG" or im.mode not in ("RGB", "L"):
                return None
            w, h = im.size
            if min(w, h) // input_size < DCT_SCALE:
                return None
            if max(math.ceil(w / DCT_SCALE), math.ceil(h / DCT_SCALE)) >= MAX_DRAFT_SIDE_FACTOR * input_size:
                return None
            exif = im.getexif()
    except Exception:  # a header Pillow cannot read: the CPU path reports the error properly
        return None
    from .images import taken_at_from_exif  # the same EXIF date rules as the CPU path

    orientation = int(exif.get(ORIENTATION, 1) or 1) if exif else 1
    if orientation not in range(1, 9):
        orientation = 1
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return JpegHeader(orientation, w, h, taken_at_from_exif(exif))


def upright(x: Any, orientation: int) -> Any:
    """A (C, H, W) tensor turned as Pillow's ``exif_transpose`` turns a picture with this orientation."""
    import torch

    if orientation == 2:
        return x.flip(-1)
    if orientation == 3:
        return torch.rot90(x, 2, (-2, -1))
    if orientation == 4:
        return x.flip(-2)
    if orientation == 5:
        return x.transpose(-2, -1)
    if orientation == 6:
        return torch.rot90(x, -1, (-2, -1))
    if orientation == 7:
        return torch.rot90(x.transpose(-2, -1), 2, (-2, -1))
    if orientation == 8:
        return torch.rot90(x, 1, (-2, -1))
    return x


# -- Pillow's arithmetic, reproduced --------------------------------------------------------------
_PRECISION_BITS = 32 - 8 - 2  # Pillow's fixed point for 8-bit resampling


def _bicubic(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


@lru_cache(maxsize=64)
def resample_matrix(in_size: int, in0: float, in1: float, out_size: int) -> np.ndarray:
    """Pillow's bicubic coefficients for one axis as an (out_size, in_size) matrix of its fixed-point
    integers: source pixels ``in0..in1`` (the box) onto ``out_size`` pixels."""
    scale = (in1 - in0) / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    out = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):
        center = in0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        weights = [_bicubic((x + xmin - center + 0.5) / filterscale) for x in range(xmax - xmin)]
        total = sum(weights)
        for x, w in enumerate(weights):
            w = w / total if total != 0.0 else w
            # Pillow rounds each coefficient to its fixed point, half away from zero.
            out[xx, xmin + x] = math.floor(0.5 + w * (1 << _PRECISION_BITS)) if w >= 0 else \
                math.ceil(-0.5 + w * (1 << _PRECISION_BITS))
    return out


def pillow_squash(x: Any, box: tuple[int, int, int, int], size: int) -> Any:
    """``Image.resize((size, size), BICUBIC, box=box)`` of a (C, H, W) float tensor of 8-bit values:
    Pillow's coefficients and fixed point, horizontal pass first (no ``reducing_gap`` step: the
    callers keep the box under 3x the size)."""
    import torch

    _c, h, w = x.shape
    left, top, right, bottom = box
    dt = torch.float64  # exact for these integer sums (< 2**53)
    kh = torch.from_numpy(resample_matrix(w, float(left), float(right), size)).to(x.device, dt)
    kv = torch.from_numpy(resample_matrix(h, float(top), float(bottom), size)).to(x.device, dt)
    half = float(1 << (_PRECISION_BITS - 1))
    unit = float(1 << _PRECISION_BITS)
    xd = x.to(dt)
    if (left, right) != (0, w) or w != size:
        xd = torch.floor((xd @ kh.T + half) / unit).clamp_(0, 255)  # Pillow's horizontal pass, 8-bit result
    if (top, bottom) != (0, h) or h != size:
        xd = torch.floor((kv @ xd + half) / unit).clamp_(0, 255)
    return xd


def pillow_reduce(x: Any, factor: int) -> Any:
    """``Image.reduce(factor)`` of a (C, H, W) tensor of 8-bit values (partial edge boxes included)."""
    import torch
    import torch.nn.functional as F

    if factor <= 1:
        return x
    xd = x.to(torch.float64)[None]
    sums = F.avg_pool2d(xd, factor, factor, ceil_mode=True, divisor_override=1)[0]
    ones = torch.ones((1, 1, *x.shape[-2:]), dtype=torch.float64, device=x.device)
    counts = F.avg_pool2d(ones, factor, factor, ceil_mode=True, divisor_override=1)[0]
    multiplier = torch.floor(float(1 << 24) / counts)
    return torch.floor((sums + torch.floor(counts / 2)) * multiplier / float(1 << 24))


def pillow_grey(x: Any) -> Any:
    """``convert("L")`` of a (3, H, W) tensor of 8-bit values: ITU-R 601-2 luma in Pillow's integers."""
    import torch

    r, g, b = x.to(torch.float64)
    return torch.floor((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536.0)


# -- the path ---------------------------------------------------------------------------------------
class DeviceJpegPreparer:
    """Decodes and prepares batches of camera JPEGs on a torch device for a model of ``input_size``."""

    def __init__(self, input_size: int, device: str) -> None:
        self.input_size = input_size
        self.device = device

    def prepare(self, datas: Sequence[bytes], orientations: Sequence[int]) -> Any:
        """JPEG files' bytes (and their EXIF orientations) to an (N, 3, S, S) uint8 tensor on the device,
        the model's input exactly as the CPU path would have prepared it (up to the decode itself)."""
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        out = []
        for start in range(0, len(datas), DECODE_CHUNK):
            chunk = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas[start : start + DECODE_CHUNK]]
            pictures = decode_jpeg(chunk, mode=ImageReadMode.RGB, device=self.device)
            for picture, orientation in zip(pictures, orientations[start : start + DECODE_CHUNK], strict=True):
                out.append(self._prepare_one(picture, orientation))
        return torch.stack(out) if out else torch.zeros((0, 3, self.input_size, self.input_size), dtype=torch.uint8)

    def _prepare_one(self, picture: Any, orientation: int) -> Any:
        import torch
        import torch.nn.functional as F

        # 1/8 scale: the mean of each 8x8 block (a partial block at the edge: of its pixels), rounded.
        draft = F.avg_pool2d(picture[None].float(), DCT_SCALE, DCT_SCALE, ceil_mode=True)[0]
        draft = torch.floor(draft + 0.5).clamp_(0, 255)
        draft = upright(draft, orientation)
        _c, h, w = draft.shape
        factor = probe_factor(w, h)
        grey = pillow_grey(pillow_reduce(draft, factor))
        box = content_box_of_probe(grey.to(torch.int16).cpu().numpy(), factor, w, h)
        squashed = pillow_squash(draft, box, self.input_size)
        return squashed.to(torch.uint8)
