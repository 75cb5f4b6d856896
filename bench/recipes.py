"""Earlier feature recipes, kept so the quality benchmark can show each change side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from photosim.core.embedder import (
    EfficientNetLite0,
    _FeatureHead,
    center_crop_array,
    fold_batch_norms,
    load_efficientnet_lite0,
    projection_matrix,
)


def gap_pool(fmap: Any) -> Any:
    import torch.nn.functional as F

    return F.normalize(fmap.float().mean(dim=(2, 3)), dim=1)


class GapCentreCropLite0(EfficientNetLite0):
    """The v1 recipe: short side to 256, centre crop 224, global average pooling."""

    model_id = "efficientnet-lite0/gap-v1"

    def build(self) -> Any:
        return _FeatureHead(load_efficientnet_lite0(), pool=gap_pool)

    def prepare(self, image: Image.Image) -> np.ndarray:
        return center_crop_array(image, 256, self.input_size)


class GapSquashLite0(EfficientNetLite0):
    """Only the preparation changed (bars trimmed, whole picture squashed), still plain GAP."""

    model_id = "bench/gap-squash"

    def build(self) -> Any:
        return _FeatureHead(load_efficientnet_lite0(), pool=gap_pool)


class RgemSquash1280Lite0(EfficientNetLite0):
    """The current recipe without its final random projection to 512 dimensions."""

    model_id = "bench/rgem-squash-1280"
    dim = 1280

    def build(self) -> Any:
        return _FeatureHead(load_efficientnet_lite0())


class CopyOnlyLite0(EfficientNetLite0):
    """The current recipe as it was before issue 12: the copy vector alone, no class probabilities after it.

    Measured beside the current one to show that the probabilities the same pass now also returns
    leave the copy vectors (and so every edited-copy figure) as they were.
    """

    model_id = "bench/rgem-squash-rp512-copy-only"

    def build(self) -> Any:
        net = load_efficientnet_lite0()
        fold_batch_norms(net)
        return _FeatureHead(net, projection=projection_matrix(1280, self.dim))
