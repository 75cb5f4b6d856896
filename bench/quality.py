"""Retrieval quality: does an edited copy of a real photo find its original at rank 1?

Two protocols, both exact (brute-force cosine, so the index layer plays no part here):

* **originals**: the database holds the 56 originals only.
* **with distractors** (the headline): the database also holds every edited copy of every *other*
  photo (616 more), so a greyscale or blurred query can be fooled by another photo's greyscale or
  blurred copy, as in a real library full of edited pictures.

Each recipe is measured on the same decoded images, so the table shows what each change bought.
The current recipe is measured in fp32 and in the precision the indexer uses on this machine (bf16
on CPUs with native bf16, model frozen), and across the two: a library indexed in one precision,
searched in the other (a GPU or the installed app's ONNX runtime run fp32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from photosim.core.embedder import Backbone, EfficientNetLite0, Embedder
from photosim.core.embedder import default_precision as precision_for
from photosim.core.images import decode, read_file

from .common import Settings, log
from .corpus import EDITS, quality_corpus
from .recipes import CopyOnlyLite0, GapCentreCropLite0, GapSquashLite0, RgemSquash1280Lite0


def _recall(vectors: np.ndarray, n_originals: int, targets: np.ndarray, edits: list[str]) -> dict[str, Any]:
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    queries = v[n_originals:]
    out: dict[str, Any] = {}
    # originals only
    top = np.argmax(queries @ v[:n_originals].T, axis=1)
    hits_plain = top == targets
    # with distractors: everything except the query's own family (its other copies), original kept
    sims = queries @ v.T
    owner = np.concatenate([np.arange(n_originals), targets])
    own_family = owner[None, :] == targets[:, None]
    sims[own_family] = -np.inf
    sims[np.arange(len(queries)), targets] = (queries * v[targets]).sum(axis=1)
    hits_hard = np.argmax(sims, axis=1) == targets
    names = list(dict.fromkeys(edits))
    edits_arr = np.asarray(edits)
    for label, hits in (("with_distractors", hits_hard), ("originals_only", hits_plain)):
        per = {e: float(hits[edits_arr == e].mean()) for e in names}
        out[label] = {"overall": float(hits.mean()), "min_edit": min(per.values()), "per_edit": per,
                      "misses": [f"{edits[i]}:{int(targets[i])}" for i in np.flatnonzero(~hits)]}
    return out


def run(settings: Settings) -> dict[str, Any]:
    corpus = quality_corpus(settings.cache)
    log(f"quality: {len(corpus.originals)} originals, {len(corpus.queries)} edited copies")
    names = [n for n, _ in corpus.originals]
    paths = [p for _, p in corpus.originals] + [p for _, _, p in corpus.queries]
    targets = np.array([names.index(n) for _, n, _ in corpus.queries])
    edits = [e for e, _, _ in corpus.queries]
    current = EfficientNetLite0()
    images = [decode(read_file(p), current.decode_min_side) for p in paths]

    default_precision = precision_for("cpu")
    recipes: list[tuple[str, Backbone, str]] = [
        ("v1: centre crop 224 + GAP (efficientnet-lite0/gap-v1)", GapCentreCropLite0(), "fp32"),
        ("bars trimmed + whole picture squashed + GAP", GapSquashLite0(), "fp32"),
        ("+ regional GeM (1280-d, no projection)", RgemSquash1280Lite0(), "fp32"),
        (f"current: {current.model_id}, fp32", current, "fp32"),
    ]
    if default_precision != "fp32":
        recipes.append((f"current, {default_precision} (the indexer's default here)", current, default_precision))
    copy_only = CopyOnlyLite0()
    recipes.append((f"current without the class-probability head (before issue 12), {default_precision}",
                    copy_only, default_precision))
    results: dict[str, Any] = {"edits": list(EDITS), "n_originals": len(names), "n_queries": len(corpus.queries),
                               "recipes": {}, "default_precision": default_precision}
    by_precision: dict[str, np.ndarray] = {}
    for label, backbone, precision in recipes:
        embedder = Embedder(backbone, device="cpu", precision=precision, optimize=backbone in (current, copy_only))
        vectors = embedder.embed_arrays([backbone.prepare(im) for im in images])
        results["recipes"][label] = _recall(vectors, len(names), targets, edits)
        r = results["recipes"][label]["with_distractors"]
        log(f"quality: {label}: recall@1 {r['overall']:.3f} (worst edit {r['min_edit']:.2f})")
        if backbone is current:
            by_precision[precision] = vectors
        if backbone is copy_only:
            same = by_precision[precision]
            results["head_drift"] = {"precision": precision, "max_abs": float(np.abs(vectors - same).max()),
                                     "min_cosine": float((vectors * same).sum(axis=1).min())}
    results["current"] = f"current: {current.model_id}, fp32"

    if default_precision != "fp32":  # drift, and a library indexed in one precision searched in the other
        fp32, low = by_precision["fp32"], by_precision[default_precision]
        cos = (fp32 * low).sum(axis=1)
        n = len(names)
        results["precision"] = {
            "min_cosine": float(cos.min()), "p1_cosine": float(np.percentile(cos, 1)), "mean_cosine": float(cos.mean()),
            "n": int(len(cos)),
            f"library fp32, queries {default_precision}": _recall(np.concatenate([fp32[:n], low[n:]]), n, targets, edits),
            f"library {default_precision}, queries fp32": _recall(np.concatenate([low[:n], fp32[n:]]), n, targets, edits),
        }
        log(f"quality: {default_precision} vs fp32 cosine min {cos.min():.4f}, mean {cos.mean():.5f}")
    return results


def markdown(results: dict[str, Any]) -> str:
    edits = results["edits"]
    lines = [
        f"Edited-copy retrieval, recall@1, exact search. {results['n_originals']} real photos, one copy per edit "
        f"({results['n_queries']} queries). Database: the originals plus every edited copy of the *other* photos "
        f"as distractors ({results['n_originals'] + results['n_queries'] - len(edits)} vectors per query).",
        "",
        "| recipe | overall | worst edit | " + " | ".join(edits) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in edits) + " |",
    ]
    for label, r in results["recipes"].items():
        h = r["with_distractors"]
        lines.append(f"| {label} | {h['overall']:.3f} | {h['min_edit']:.2f} | "
                     + " | ".join(f"{h['per_edit'][e]:.2f}" for e in edits) + " |")
    lines += ["", "Same, database of originals only:", "",
              "| recipe | overall | worst edit |", "| --- | ---: | ---: |"]
    for label, r in results["recipes"].items():
        h = r["originals_only"]
        lines.append(f"| {label} | {h['overall']:.3f} | {h['min_edit']:.2f} |")
    drift = results.get("head_drift")
    if drift:
        lines += ["", f"Copy vectors with and without the class-probability head ({drift['precision']}, frozen): "
                  f"largest difference {drift['max_abs']:.2g}, lowest cosine {drift['min_cosine']:.6f}."]
    p = results.get("precision")
    if p:
        low = results["default_precision"]
        lines += ["", f"{low} (frozen) against fp32, current recipe, {p['n']} real photos: cosine of a photo's two "
                  f"vectors min {p['min_cosine']:.4f}, 1st percentile {p['p1_cosine']:.4f}, mean {p['mean_cosine']:.5f}. "
                  "Across precisions, recall@1 with distractors (overall / worst edit):"]
        for key, r in p.items():
            if key.startswith("library"):
                h = r["with_distractors"]
                lines.append(f"- {key}: {h['overall']:.3f} / {h['min_edit']:.2f}")
    return "\n".join(lines)
