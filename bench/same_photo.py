"""Calibration of "same photo" and of the per-query cutoff, and recall@1 before/after per edit.

``python -m bench.same_photo [--cache DIR] [--limit N]`` runs the engine's own per-query code
(:func:`photosim.core.results.rank_query` with :class:`photosim.core.matching.SamePhotoTest`) on
the edited-copy corpus and prints:

* recall@1 per edit for the plain vector search of the stored recipe, the **previous** engine (the
  previous round's verifier, ``bench/previous.py``, and the copy vector's similar photos) and the
  **current** one (``photosim/core/matching.py``, look-alikes as the similar photos), in one run;
* "same" precision and recall at the thresholds in ``photosim/core/matching.py``: a result marked
  "same" is right only if it is the query's original (every other photo and every copy of every
  other photo is in the library as a distractor, including different shots of the same scene);
* the cutoff: how often it keeps the query's original, how many of the query's *category*
  look-alikes it keeps (the corpus's 39 interior photos are one category, brick/grass/gravel
  another; the other photos have none), and how many unrelated photos slip through;
* the same figures on two halves of the photos (even and odd positions): the thresholds were chosen
  on the even half, so the odd half is held out.

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
from photosim.core.results import LookAlikeQuery, ResultSet, query_variants, rank_query
from photosim.core.semantic import semantic_vectors
from photosim.core.tags import encode_labels, stack_labels

from .common import log
from .corpus import EDITS, quality_corpus
from .previous import PreviousVerifier

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
    analysis = embedder.analyse_images([decode(read_file(p), embedder.backbone.decode_min_side) for p in paths])
    vectors = analysis.vectors
    assert analysis.probabilities is not None
    alike = semantic_vectors(*stack_labels([encode_labels(p) for p in analysis.probabilities]))
    log(f"same_photo: {len(paths)} photos embedded in {time.perf_counter() - t:.0f} s ({embedder.precision})")
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(len(vectors), size=min(BACKGROUND_SAMPLE, len(vectors)), replace=False))
    engines = {"previous": SamePhotoTest(vectors[chosen], PreviousVerifier(cache_size=4096)),
               "current": SamePhotoTest(vectors[chosen], GeometricVerifier(cache_size=4096))}
    cats = [category(nm) for nm in names]

    order = range(len(corpus.queries)) if limit is None else range(0, len(corpus.queries), max(1, len(corpus.queries) // limit))
    rows = []
    seconds = {name: 0.0 for name in engines}
    t = time.perf_counter()
    for qi in order:
        query_path = paths[n + qi]
        family = targets[qi]
        allowed = (owner != family) | (np.arange(len(owner)) == family)
        qvec = vectors[n + qi]

        def search(vec: np.ndarray, m: int, allowed: np.ndarray = allowed, space: np.ndarray = vectors) -> list[tuple[int, str, float]]:
            sims = space @ (vec / (np.linalg.norm(vec) or 1.0))
            sims = np.where(allowed, sims, -np.inf)
            top = np.argsort(-sims)[:m]
            return [(int(i), paths[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

        image = decode(read_file(query_path), 0)
        before_top = search(qvec, 1)[0][0]
        row: dict[str, Any] = {"edit": edits[qi], "photo": names[family], "half": int(family % 2), "before": before_top == family}
        for name, test in engines.items():
            look_alikes = None
            if name == "current":  # the unified list: copies, then look-alikes by the look-alike descriptor
                look_alikes = LookAlikeQuery(alike[n + qi], lambda vec, m, allowed=allowed: search(vec, m, allowed, alike),
                                             alike[chosen])
            started = time.perf_counter()
            rs = rank_query(qvec, k, search, test, query_image=query_path,
                            variants=lambda image=image, now=name == "current": query_variants(image, quarters=now),
                            embed=embedder.embed_images,
                            look_alikes=look_alikes)
            seconds[name] += time.perf_counter() - started
            row[name] = _outcome(rs, family, owner, cats, n)
        rows.append(row)
        if len(rows) % 100 == 0:
            log(f"same_photo: {len(rows)} queries, {(time.perf_counter() - t) / len(rows) * 1000:.0f} ms each")
    return {"rows": rows, "edits": list(EDITS), "n_originals": n, "precision": embedder.precision,
            "seconds_per_query": {name: s / max(1, len(rows)) for name, s in seconds.items()}}


def _outcome(rs: ResultSet, family: int, owner: np.ndarray, cats: list[str], n: int) -> dict[str, Any]:
    """What one engine's result list did for one query."""
    shown_families = {int(owner[r.photo_id]) for r in rs.shown if r.match == "similar"}
    same_ids = [r.photo_id for r in rs.results if r.match == "same"]
    return {
        "after": bool(rs.results) and rs.results[0].photo_id == family,
        "same_true": int(family in same_ids), "same_false": sum(1 for i in same_ids if i != family),
        "original_shown": family in {int(owner[r.photo_id]) for r in rs.shown},
        "lookalikes": sum(1 for f in shown_families if f != family and cats[f] == cats[family]),
        "lookalikes_all": sum(1 for f in range(n) if f != family and cats[f] == cats[family]),
        "unrelated": sum(1 for f in shown_families if cats[f] != cats[family]),
        "unrelated_all": sum(1 for f in range(n) if cats[f] != cats[family]),
        "shown": rs.cutoff, "variant": rs.variant,
    }


def summary(all_rows: list[dict[str, Any]], engine: str = "current") -> dict[str, float]:
    rows = [{**r[engine], "before": r["before"]} for r in all_rows]
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
    lines = ["| edit | recall@1 plain search | recall@1 previous | recall@1 now | same recall previous | same recall now | "
             "same false previous | same false now |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in edits:
        rs = [r for r in rows if r["edit"] == e]
        p, c = summary(rs, "previous"), summary(rs, "current")
        lines.append(f"| {e} | {c['recall@1 before']:.2f} | {p['recall@1 after']:.2f} | {c['recall@1 after']:.2f} | "
                     f"{p['same recall']:.2f} | {c['same recall']:.2f} | {p['same false']} | {c['same false']} |")
    lines += ["", "| set | engine | queries | recall@1 | same precision | same recall | cutoff keeps original | "
              "look-alikes kept | unrelated kept | queries showing any unrelated | shown (median) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, subset in (("all photos", rows), ("even half", [r for r in rows if r["half"] == 0]),
                          ("odd half (held out)", [r for r in rows if r["half"] == 1])):
        for engine in ("previous", "current"):
            s = summary(subset, engine)
            lines.append(f"| {label} | {engine} | {s['queries']} | {s['recall@1 after']:.3f} | "
                         f"{s['same precision']:.4f} | {s['same recall']:.3f} | {s['cutoff keeps original']:.3f} | "
                         f"{s['cutoff keeps look-alikes']:.2f} | {s['cutoff unrelated kept']:.3f} | "
                         f"{s['queries with any unrelated shown']:.2f} | {s['shown per query (median)']:.0f} |")
    sec = results["seconds_per_query"]
    lines += ["", f"Time per query (search, verification, variants; {results['precision']} vectors): previous "
              f"{sec['previous'] * 1000:.0f} ms, current {sec['current'] * 1000:.0f} ms."]
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
