"""The real model with the real offline weights: it must see what is in a photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from photosim.core.embedder import (
    EfficientNetLite0,
    Embedder,
    EmbedderError,
    cpu_has_native_bf16,
    fold_batch_norms,
    load_efficientnet_lite0,
    pick_device,
)
from tests.photos import sample_images


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return sample_images(n_interior=8)


def _top5(model: torch.nn.Module, image: Image.Image) -> list[str]:
    from torchvision.models import ResNet50_Weights

    categories = ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
    arr = EfficientNetLite0().prepare(image)
    x = torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    with torch.inference_mode():
        logits = model(x)
    return [categories[i] for i in logits.topk(5).indices[0].tolist()]


def test_pretrained_weights_classify_real_photos(photos: dict[str, Image.Image]) -> None:
    model = load_efficientnet_lite0()
    assert _top5(model, photos["chelsea"])[0] in {"tabby", "tiger cat", "Egyptian cat"}
    assert _top5(model, photos["coffee"])[0] in {"espresso", "cup", "coffee mug"}
    assert "missile" in _top5(model, photos["rocket"])[:2] or "projectile" in _top5(model, photos["rocket"])[:2]


def test_embeddings_are_unit_vectors_and_deterministic(embedder: Embedder, photos: dict[str, Image.Image]) -> None:
    ims = list(photos.values())[:6]
    a = embedder.embed_images(ims)
    b = embedder.embed_images(ims)
    assert a.shape == (6, embedder.dim) == (6, 512)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert np.allclose(a, b, atol=1e-5)
    sims = a @ a.T
    assert (sims[~np.eye(6, dtype=bool)] < 0.95).all()  # different photos, different vectors


def test_default_precision_finds_the_same_photos_as_fp32(photos: dict[str, Image.Image]) -> None:
    """bf16 (the default on CPUs with native bf16) may move a vector a little, never to another photo.

    A library indexed in one precision and searched in the other (a GPU or the installed app's ONNX
    runtime run fp32) must still find each photo itself first.
    """
    reference = Embedder(device="cpu", precision="fp32")
    auto = Embedder(device="cpu", optimize=True)  # the indexer's path: default precision, frozen
    assert auto.precision == ("bf16" if cpu_has_native_bf16() else "fp32")
    ims = list(photos.values())
    fp32, default = reference.embed_images(ims), auto.embed_images(ims)
    cos = (fp32 * default).sum(axis=1)
    assert cos.min() >= 0.98, f"default precision {auto.precision} drifts to cosine {cos.min():.5f}"
    assert cos.mean() >= 0.995
    assert (np.argmax(default @ fp32.T, axis=1) == np.arange(len(ims))).all()
    assert (np.argmax(fp32 @ default.T, axis=1) == np.arange(len(ims))).all()


def test_batch_norm_folding_is_exact_in_fp32(photos: dict[str, Image.Image]) -> None:
    plain = load_efficientnet_lite0()
    folded = load_efficientnet_lite0()
    assert fold_batch_norms(folded) == 49  # every conv of the net has its batch norm
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    arr = np.stack([EfficientNetLite0().prepare(im) for im in list(photos.values())[:4]])
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.inference_mode():
        a, b = plain.forward_features(x).flatten(1), folded.forward_features(x).flatten(1)
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.99999


def test_batching_does_not_change_vectors(embedder: Embedder, photos: dict[str, Image.Image]) -> None:
    ims = list(photos.values())[:5]
    together = embedder.embed_images(ims)
    alone = np.concatenate([embedder.embed_images([im]) for im in ims])
    assert (together * alone).sum(axis=1).min() > 0.9999


def test_device_choice() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(EmbedderError, match="CUDA"):
            pick_device("cuda")
    with pytest.raises(EmbedderError, match="unknown device"):
        pick_device("tpu")
