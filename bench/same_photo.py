"""Calibration of "same photo" and of the per-query cutoff, and recall@1 before/after per edit.

``python -m bench.same_photo [--cache DIR] [--limit N]`` runs the engine's own per-query code
(:func:`photosim.core.results.rank_query` with :class:`photosim.core.matching.SamePhotoTest`) on
the edited-copy corpus and prints:

* recall@1 per edit **before** (the plain vector search of the stored recipe) and **after** (verified
  copies first, the query's turned and cut-out variants when no copy was found);
* "same" precision and recall at the thresholds in ``photosim/core/matching.py``: a result marked
  "same" is right only if it is the query's original (every other photo and every copy of every
  other photo is in the library as a distractor, including different shots of the same scene);
* the cutoff: how often it keeps the query's original, how many of the query's *category*
  look-alikes it keeps (the corpus's 39 interior photos are one category, brick/grass/gravel
  another; the other photos have none), and how many unrelated photos slip through;
* the same figures on two halves of the photos (even and odd positions), to show the thresholds
  are not tuned to a few photos.

Protocol as ``bench/quality.py``: the library holds the originals plus every edited copy of the
*other* photos; a query's own other copies are left out. Vectors come from the indexer's embedder
(bf16 on CPUs with native bf16).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from photosim.core.embedder import Embedder
from photosim.core.images import decode, read_file
from photosim.core.matching import BACKGROUND_SAMPLE, GeometricVerifier, SamePhotoTest
from photosim.core.results import rank_query

from .common import log
from .corpus import EDITS, quality_corpus

TEXTURES = {"brick", "grass", "gravel"}


def category(name: str) -> str:
    if name.startswith("interior-"):
        return "interior"
    if name in TEXTURES:
        return "texture"
    return name


def run(cache: Path, limit: int | None = None, k: int = 100) -> dict[str, Any]:
    corpus = quality_corpus(cache)
    names = [n for n, _ in corpus.originals]
    n = len(names)
    paths = [str(p) for _, p in corpus.originals] + [str(p) for _, _, p in corpus.queries]
    targets = np.array([names.index(nm) for _, nm, _ in corpus.queries])
    edits = [e for e, _, _ in corpus.queries]
    owner = np.concatenate([np.arange(n), targets])
    embedder = Embedder(device="cpu", optimize=True)
    t = time.perf_counter()
    vectors = embedder.embed_images([decode(read_file(p), embedder.backbone.decode_min_side) for p in paths])
    log(f"same_photo: {len(paths)} photos embedded in {time.perf_counter() - t:.0f} s ({embedder.precision})")
    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.choice(len(vectors), size=min(BACKGROUND_SAMPLE, len(vectors)), replace=False))]
    test = SamePhotoTest(sample, GeometricVerifier(cache_size=4096))
    cats = [category(nm) for nm in names]

    order = range(len(corpus.queries)) if limit is None else range(0, len(corpus.queries), max(1, len(corpus.queries) // limit))
    rows = []
    t = time.perf_counter()
    for qi in order:
        query_path = paths[n + qi]
        family = targets[qi]
        allowed = (owner != family) | (np.arange(len(owner)) == family)
        qvec = vectors[n + qi]

        def search(vec: np.ndarray, m: int, allowed: np.ndarray = allowed) -> list[tuple[int, str, float]]:
            sims = vectors @ (vec / (np.linalg.norm(vec) or 1.0))
            sims = np.where(allowed, sims, -np.inf)
            top = np.argsort(-sims)[:m]
            return [(int(i), paths[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

        image = decode(read_file(query_path), 0)
        from photosim.core.results import query_variants

        rs = rank_query(qvec, k, search, test, query_image=query_path,
                        variants=lambda image=image: query_variants(image), embed=embedder.embed_images)
        before_top = search(qvec, 1)[0][0]
        shown_families = {int(owner[r.photo_id]) for r in rs.shown}
        same_ids = [r.photo_id for r in rs.results if r.match == "same"]
        rows.append({
            "edit": edits[qi], "photo": names[family], "half": int(family % 2),
            "before": before_top == family,
            "after": bool(rs.results) and rs.results[0].photo_id == family,
            "same_true": int(family in same_ids), "same_false": sum(1 for i in same_ids if i != family),
            "original_shown": family in shown_families,
            "lookalikes": sum(1 for f in shown_families if f != family and cats[f] == cats[family]),
            "lookalikes_all": sum(1 for f in range(n) if f != family and cats[f] == cats[family]),
            "unrelated": sum(1 for f in shown_families if cats[f] != cats[family]),
            "unrelated_all": sum(1 for f in range(n) if cats[f] != cats[family]),
            "shown": rs.cutoff, "variant": rs.variant,
            "ranked": [(int(owner[r.photo_id]), round(rs.background.z(r.score), 3), r.match) for r in rs.results]
            if rs.background else [],
        })
        if len(rows) % 100 == 0:
            log(f"same_photo: {len(rows)} queries, {(time.perf_counter() - t) / len(rows) * 1000:.0f} ms each")
    seconds = time.perf_counter() - t
    return {"rows": rows, "edits": list(EDITS), "n_originals": n, "seconds_per_query": seconds / max(1, len(rows)),
            "precision": embedder.precision}


def summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    tp = sum(r["same_true"] for r in rows)
    fp = sum(r["same_false"] for r in rows)
    look = sum(r["lookalikes"] for r in rows if r["lookalikes_all"])
    look_all = sum(r["lookalikes_all"] for r in rows if r["lookalikes_all"])
    return {
        "queries": len(rows),
        "recall@1 before": float(np.mean([r["before"] for r in rows])),
        "recall@1 after": float(np.mean([r["after"] for r in rows])),
        "same precision": tp / max(1, tp + fp), "same recall": tp / max(1, len(rows)), "same false": fp,
        "cutoff keeps original": float(np.mean([r["original_shown"] for r in rows])),
        "cutoff keeps look-alikes": look / max(1, look_all),
        "cutoff unrelated kept": sum(r["unrelated"] for r in rows) / max(1, sum(r["unrelated_all"] for r in rows)),
        "queries with any unrelated shown": float(np.mean([r["unrelated"] > 0 for r in rows])),
        "shown per query (median)": float(np.median([r["shown"] for r in rows])),
    }


def markdown(results: dict[str, Any]) -> str:
    rows = results["rows"]
    edits = [e for e in results["edits"] if any(r["edit"] == e for r in rows)]
    lines = ["| edit | recall@1 before | recall@1 after | same recall | same false |", "| --- | ---: | ---: | ---: | ---: |"]
    for e in edits:
        rs = [r for r in rows if r["edit"] == e]
        s = summary(rs)
        lines.append(f"| {e} | {s['recall@1 before']:.2f} | {s['recall@1 after']:.2f} | {s['same recall']:.2f} | {s['same false']} |")
    lines += ["", "| set | queries | recall@1 before / after | same precision | same recall | cutoff keeps original | "
              "look-alikes kept | unrelated kept | queries showing any unrelated | shown (median) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, subset in (("all photos", rows), ("even half", [r for r in rows if r["half"] == 0]),
                          ("odd half", [r for r in rows if r["half"] == 1])):
        s = summary(subset)
        lines.append(f"| {label} | {s['queries']} | {s['recall@1 before']:.3f} / {s['recall@1 after']:.3f} | "
                     f"{s['same precision']:.4f} | {s['same recall']:.3f} | {s['cutoff keeps original']:.3f} | "
                     f"{s['cutoff keeps look-alikes']:.2f} | {s['cutoff unrelated kept']:.3f} | "
                     f"{s['queries with any unrelated shown']:.2f} | {s['shown per query (median)']:.0f} |")
    lines += ["", f"{results['seconds_per_query'] * 1000:.0f} ms per query (search, verification, variants; "
              f"{results['precision']} vectors)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.same_photo", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-results/cache", help="corpus cache (default bench-results/cache)")
    parser.add_argument("--limit", type=int, default=None, help="about this many queries, spread over the corpus")
    parser.add_argument("--json", default=None, help="also write the per-query rows here")
    args = parser.parse_args(argv)
    results = run(Path(args.cache), args.limit)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
