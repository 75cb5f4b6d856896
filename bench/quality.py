"""Retrieval quality: does an edited copy of a real photo find its original at rank 1?

Two protocols, both exact (brute-force cosine, so the index layer plays no part here):

* **originals**: the database holds the 56 originals only.
* **with distractors** (the headline): the database also holds every edited copy of every *other*
  photo (616 more), so a greyscale or blurred query can be fooled by another photo's greyscale or
  blurred copy, as in a real library full of edited pictures.

Each recipe is measured on the same decoded images, so the table shows what each change bought.
Also measured here: how far bf16 autocast drifts from fp32 on these real photos (the bar is 0.999).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from photosim.core.embedder import Backbone, EfficientNetLite0, Embedder
from photosim.core.images import decode, read_file

from .common import Settings, log
from .corpus import EDITS, quality_corpus
from .recipes import GapCentreCropLite0, GapSquashLite0, RgemSquash1280Lite0


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

    recipes: list[tuple[str, Backbone]] = [
        ("v1: centre crop 224 + GAP (efficientnet-lite0/gap-v1)", GapCentreCropLite0()),
        ("bars trimmed + whole picture squashed + GAP", GapSquashLite0()),
        ("+ regional GeM (1280-d, no projection)", RgemSquash1280Lite0()),
        (f"current: {current.model_id}", current),
    ]
    results: dict[str, Any] = {"edits": list(EDITS), "n_originals": len(names), "n_queries": len(corpus.queries),
                               "recipes": {}}
    current_vectors = None
    current_arrays = None
    for label, backbone in recipes:
        embedder = Embedder(backbone, device="cpu")
        arrays = [backbone.prepare(im) for im in images]
        vectors = embedder.embed_arrays(arrays)
        results["recipes"][label] = _recall(vectors, len(names), targets, edits)
        r = results["recipes"][label]["with_distractors"]
        log(f"quality: {label}: recall@1 {r['overall']:.3f} (worst edit {r['min_edit']:.2f})")
        if backbone is current:
            current_vectors, current_arrays, current_embedder = vectors, arrays, embedder
    results["current"] = f"current: {current.model_id}"

    # bf16 drift on real photos, for the current recipe (eager bf16 autocast vs the fp32 vectors)
    assert current_vectors is not None and current_arrays is not None
    subset = slice(0, 160 if settings.quick else len(current_arrays))
    bf16 = Embedder(current, device="cpu", precision="bf16")
    vb = bf16.embed_arrays(current_arrays[subset])
    cos = (vb * current_vectors[subset]).sum(axis=1)
    results["bf16_vs_fp32"] = {"min_cosine": float(cos.min()), "p1_cosine": float(np.percentile(cos, 1)),
                               "n": int(len(cos))}
    log(f"quality: bf16 vs fp32 min cosine {cos.min():.4f} over {len(cos)} real photos")
    del current_embedder
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
    b = results["bf16_vs_fp32"]
    lines += ["", f"bf16 autocast vs fp32, current recipe, {b['n']} real photos: min cosine {b['min_cosine']:.4f}, "
              f"1st percentile {b['p1_cosine']:.4f} (bar: 0.999)."]
    return "\n".join(lines)
