"""Exporting a backbone's torch module to ONNX for the installed app (build time only; needs torch).

Why export at build time rather than ship a fixed file: the feature recipe lives in the backbone's
torch module and may change; exporting whatever ``backbone.build().module`` is at build time, with
``backbone.normalize`` folded into the graph and the ``model_id`` written into the file's metadata,
keeps the ONNX path and the torch path computing the same vectors under the same name.

The exported graph takes the prepared photos exactly as :meth:`Backbone.prepare` returns them,
stacked into a uint8 NHWC batch (any batch size), so the runtime side is numpy only. After writing,
the export checks itself: onnxruntime and torch must agree to cosine >= 0.9999 on a few synthetic
pictures (the vectors, and the class probabilities that follow them in the same output), or the
build fails here instead of in a user's library.

Command line (used by ``packaging/build.sh``)::

    python -m photosim.core.onnx_export OUT_DIR [--model efficientnet-lite0]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .embedder import BACKBONES, DEFAULT_BACKBONE, Backbone, EmbedderError
from .onnx_embedder import INPUT_LAYOUT, META_CLASSES, META_DIM, META_INPUT, META_MODEL_ID, model_file_name

log = logging.getLogger(__name__)

OPSET = 17
SELF_CHECK_COSINE = 0.9999


def _wrapped(backbone: Backbone) -> Any:
    """The backbone's module preceded by the uint8 NHWC -> normalised float NCHW conversion."""
    import torch

    module = backbone.build().module.eval().float()

    class Exported(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = module

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images.permute(0, 3, 1, 2).float()
            x = backbone.normalize(x)
            return self.net(x).float()

    return Exported().eval()


def _probe_images(backbone: Backbone, n: int = 4) -> np.ndarray:
    """Structured synthetic pictures (gradients, stripes, blocks), prepared like photos."""
    rng = np.random.default_rng(0)
    size = 2 * backbone.input_size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = []
    for i in range(n):
        r = 255 * (0.5 + 0.5 * np.sin(6.28 * (i + 1) * xx))
        g = 255 * yy
        b = 255 * ((xx * (i + 2)).astype(int) % 2) * (yy > 0.3)
        noise = rng.normal(0, 12, (size, size, 3))
        arr = np.clip(np.stack([r, g, b], axis=-1) + noise, 0, 255).astype(np.uint8)
        out.append(backbone.prepare(Image.fromarray(arr)))
    return np.stack(out)


def export_onnx(backbone: Backbone | str | None, out_dir: str | os.PathLike[str]) -> Path:
    """Export ``backbone`` to ``out_dir/<model_id>.onnx``, check it against torch, return its path."""
    import onnx
    import torch

    if backbone is None or isinstance(backbone, str):
        name = backbone or DEFAULT_BACKBONE
        if name not in BACKBONES:
            raise EmbedderError(f"unknown model '{name}' (known: {', '.join(BACKBONES)})")
        backbone = BACKBONES[name]()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / model_file_name(backbone.model_id)
    model = _wrapped(backbone)
    probe = _probe_images(backbone)
    example = torch.from_numpy(probe[:2].copy())
    with torch.inference_mode():
        classes = int(model(example).shape[1]) - backbone.dim  # class probabilities after the vector
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            # torch deprecates the TorchScript exporter loudly; it is still the one that needs no onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                # The TorchScript-based exporter needs nothing beyond torch and gives one self-contained file.
                torch.onnx.export(
                    model, (example,), str(raw), dynamo=False, opset_version=OPSET,
                    input_names=["images"], output_names=["embeddings"],
                    dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
                )
            except Exception as exc:  # pragma: no cover - only if a future recipe defeats the tracer
                log.warning("TorchScript ONNX export failed (%s); trying the dynamo exporter", exc)
                batch = torch.export.Dim("batch", min=1, max=1024)
                program = torch.onnx.export(model, (example,), dynamo=True, opset_version=max(OPSET, 18),
                                            input_names=["images"], output_names=["embeddings"],
                                            dynamic_shapes=({0: batch},), external_data=False)
                program.save(str(raw))
        proto = onnx.load(str(raw))
        for key, value in ((META_MODEL_ID, backbone.model_id), (META_DIM, str(backbone.dim)), (META_INPUT, INPUT_LAYOUT),
                           (META_CLASSES, str(classes)), ("photosim.exported_with", f"torch {torch.__version__}")):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.producer_name = "photosim"
        onnx.checker.check_model(proto)
        staged = Path(tmp) / target.name
        onnx.save(proto, str(staged))
        _self_check(backbone, model, staged, probe)
        os.replace(staged, target)
    log.info("exported %s to %s (%.1f MB)", backbone.model_id, target, target.stat().st_size / 1e6)
    return target


def _self_check(backbone: Backbone, model: Any, path: Path, probe: np.ndarray) -> None:
    import torch

    from .onnx_embedder import OnnxEmbedder

    with torch.inference_mode():
        expected = model(torch.from_numpy(probe.copy())).numpy()
    analysis = OnnxEmbedder(backbone, device="cpu", model_path=path).analyse_arrays(list(probe))
    dim = backbone.dim
    parts = [(analysis.vectors, expected[:, :dim])]
    if expected.shape[1] > dim:  # the class probabilities must come out too, and agree
        if analysis.probabilities is None or analysis.probabilities.shape != expected[:, dim:].shape:
            raise EmbedderError("the exported model lost the class probabilities")
        parts.append((analysis.probabilities, expected[:, dim:]))
    for got, want in parts:
        cos = (got * want).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
        if got.shape != want.shape or float(cos.min()) < SELF_CHECK_COSINE:
            raise EmbedderError(f"the exported model disagrees with torch (cosine {cos.min():.6f} < {SELF_CHECK_COSINE})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m photosim.core.onnx_export", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", help="folder to write <model_id>.onnx into")
    parser.add_argument("--model", default=DEFAULT_BACKBONE, choices=sorted(BACKBONES))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="onnx_export: %(message)s")
    try:
        path = export_onnx(args.model, args.out_dir)
    except EmbedderError as exc:
        print(f"onnx_export: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
