"""photosim's own EfficientNet-Lite0 must compute exactly what timm's ``tf_efficientnet_lite0`` does.

Why: photosim stopped importing timm to embed photos (timm imports torchvision, torch._dynamo and
sympy: 2-4 s of CPU before the first photo). The network is now defined in photosim.core.lite0; if
it drifted from timm's, every vector would change under the same model id and old libraries would
silently return wrong neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photosim.core import lite0
from photosim.core.embedder import EfficientNetLite0, fold_batch_norms, load_efficientnet_lite0, load_lite0_weights
from tests.photos import sample_images


@pytest.fixture(scope="module")
def timm_folded() -> torch.nn.Module:
    net = load_efficientnet_lite0()
    fold_batch_norms(net)
    return net


def test_the_network_gives_timms_outputs_on_real_photos(timm_folded: torch.nn.Module) -> None:
    ours = lite0.build(load_lite0_weights())
    images = list(sample_images(n_interior=3).values())[:6]
    x = torch.from_numpy(np.stack([EfficientNetLite0().prepare(im) for im in images])).permute(0, 3, 1, 2).float()
    x = x / 127.5 - 1.0
    with torch.inference_mode():
        assert torch.equal(ours.forward_features(x), timm_folded.forward_features(x))
        assert torch.equal(ours(x), timm_folded(x))  # the classifier too: labels come from it


def test_tensorflow_same_padding_for_other_input_sizes(timm_folded: torch.nn.Module) -> None:
    # Odd sizes put the extra padding row and column after the picture (stride 2), as TF does.
    x = torch.randn(1, 3, 231, 231, generator=torch.Generator().manual_seed(0))
    ours = lite0.build(load_lite0_weights(), input_size=231)
    with torch.inference_mode():
        assert torch.equal(ours.forward_features(x), timm_folded.forward_features(x))
    with pytest.raises(ValueError, match="231x231"):
        ours.forward_features(torch.zeros(1, 3, 224, 224))


def test_a_checkpoint_that_does_not_fit_is_refused() -> None:
    weights = dict(load_lite0_weights())
    weights["_extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="_extra"):
        lite0.build(weights)
    weights.pop("_extra.weight")
    weights["_conv_head.weight"] = torch.zeros(1280, 321, 1, 1)
    with pytest.raises(ValueError, match="head"):
        lite0.build(weights)
