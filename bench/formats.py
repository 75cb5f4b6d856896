"""Phone and camera formats: indexing rates through the real pipeline, each beside its reference, and
whether vectors made from embedded thumbnails and previews find the same photos as full decodes.

Rates (``Indexer.run`` on a fresh library, model loaded and frozen, as ``throughput.py`` measures JPEGs;
the median of three runs):

* HEIC with a 320x240 thumbnail (as iPhones write them), beside the decode bound of the same files
  decoded in full (what photosim did before);
* HEIC without a thumbnail, against the full-decode bound on all cores (read + decode + prepare,
  processes and threads, the best; measured before and after the pipeline so that load shows);
* 24 MP DNG through the embedded preview: a full-size preview (Canon, Nikon) and a 1616 px one
  (Sony), beside decoding the sensor data at half size on one core;
* AVIF, PNG phone screenshots, and camera JPEGs as the reference the other rows are read against;
* a phone-like mixed folder: HEIC with thumbnails, JPEG, PNG screenshots and a few RAW files.

Quality, with the edited-copy corpus of ``quality.py``: every original written as a HEIC with a
thumbnail of 240 px on its short side (what an iPhone's 320x240 holds) and as a DNG with a 1616 px
preview; the library indexed from thumbnails / previews and from full decodes, queried with the 616
edited JPEG copies (recall@1, with the other photos' copies as distractors). Plus the cosine between a
photo's vector from its thumbnail (preview) and from its full decode, on the 12 MP / 24 MP files.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from photosim.core.embedder import EfficientNetLite0, Embedder
from photosim.core.images import decode_photo, heif_backend, read_file

from . import camera_files
from .common import Settings, cores, log, rate, warm_files
from .corpus import camera_corpus, formats_corpus, quality_corpus
from .quality import _recall
from .throughput import _pipeline

PIPELINE_RUNS = 3
"""Each rate is the median of this many runs (fresh library each)."""

_BACKBONE = EfficientNetLite0()

#: Targets from issue 10, checked in the markdown.
TARGETS = {"heic_thumb": 40.0, "heic_plain_vs_bound": 0.9, "raw": 30.0, "mixed": 35.0}


def _decode_prepare(path: str, embedded: bool = True) -> str:
    photo = decode_photo(read_file(path), _BACKBONE.decode_min_side, embedded=embedded)
    _BACKBONE.prepare(photo.image)
    return photo.source


def _bound(paths: list[str], embedded: bool = True, one_core: bool = False) -> dict[str, Any]:
    """Read + decode + prepare on all cores (processes, threads; the best), or on one core."""
    work = functools.partial(_decode_prepare, embedded=embedded)
    out: dict[str, Any] = {}
    if one_core:
        t = time.perf_counter()
        sources = [work(p) for p in paths]
        out["one_core"] = out["best"] = rate(len(paths), time.perf_counter() - t)
    else:
        with ProcessPoolExecutor(cores()) as pool:
            list(pool.map(work, paths[: cores()]))  # start the workers, import everything
            t = time.perf_counter()
            sources = list(pool.map(work, paths))
            out["processes"] = rate(len(paths), time.perf_counter() - t)
        with ThreadPoolExecutor(cores()) as pool:
            t = time.perf_counter()
            list(pool.map(work, paths))
            out["threads"] = rate(len(paths), time.perf_counter() - t)
        out["best"] = max(out["processes"], out["threads"])
    out["sources"] = dict(Counter(sources))
    return out


def _folder(paths: list[Path], prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"photosim-bench-{prefix}-"))
    for p in paths:
        os.symlink(p.resolve(), folder / p.name)
    return folder


def _sources(paths: list[Path]) -> dict[str, int]:
    """Which path each file took in the indexer's decode (thumbnail, preview, full, raw...)."""
    return dict(Counter(decode_photo(read_file(p), _BACKBONE.decode_min_side).source for p in paths))


def _cosines(embedder: Embedder, paths: list[Path]) -> dict[str, float]:
    """Cosine of each file's vector from its embedded picture and from its full decode."""
    a = embedder.embed_arrays([_BACKBONE.prepare(decode_photo(read_file(p), _BACKBONE.decode_min_side).image)
                               for p in paths])
    b = embedder.embed_arrays([_BACKBONE.prepare(decode_photo(read_file(p), _BACKBONE.decode_min_side,
                                                              embedded=False).image) for p in paths])
    cos = (a * b).sum(axis=1)
    return {"min": float(cos.min()), "mean": float(cos.mean()), "n": len(paths)}


def _quality(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """Edited-copy recall@1 with libraries indexed from thumbnails / previews and from full decodes."""
    corpus = quality_corpus(settings.cache)
    folder = settings.cache / "formats-quality-v2"
    folder.mkdir(parents=True, exist_ok=True)
    names = [n for n, _ in corpus.originals]
    heics, dngs = [], []
    from PIL import Image, ImageOps

    for name, path in corpus.originals:
        heic, dng = folder / f"{name}.heic", folder / f"{name}.dng"
        heics.append(heic)
        dngs.append(dng)
        if heic.exists() and dng.exists():
            continue
        with Image.open(path) as im:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        w, h = upright.size
        thumb_long = round(240 * max(w, h) / min(w, h))  # short side 240, as an iPhone's 320x240
        camera_files.write_heic(upright, heic.with_suffix(".part"), thumbnail=thumb_long)
        os.replace(heic.with_suffix(".part"), heic)
        camera_files.write_dng(upright, dng.with_suffix(".part2"), preview=1616,
                               rng=np.random.default_rng(len(heics)))
        os.replace(dng.with_suffix(".part2"), dng)
    queries = [p for _, _, p in corpus.queries]
    targets = np.array([names.index(n) for _, n, _ in corpus.queries])
    edits = [e for e, _, _ in corpus.queries]
    ms = _BACKBONE.decode_min_side

    def vectors(paths: list[Path], embedded: bool = True) -> tuple[np.ndarray, dict[str, int]]:
        photos = [decode_photo(read_file(p), ms, embedded=embedded) for p in paths]
        return embedder.embed_arrays([_BACKBONE.prepare(ph.image) for ph in photos]), dict(
            Counter(ph.source for ph in photos))

    q, _ = vectors(queries)
    out: dict[str, Any] = {"n_originals": len(names), "n_queries": len(queries)}
    libraries = {
        "JPEG originals (the quality benchmark's library)": ([p for _, p in corpus.originals], True),
        "HEIC, indexed from the embedded thumbnails": (heics, True),
        "HEIC, indexed from full decodes": (heics, False),
        "DNG, indexed from the embedded 1616 px previews": (dngs, True),
        "DNG, indexed from the sensor data (libraw, half size)": (dngs, False),
    }
    by_label: dict[str, np.ndarray] = {}
    for label, (paths, embedded) in libraries.items():
        lib, sources = vectors(paths, embedded)
        by_label[label] = lib
        r = _recall(np.concatenate([lib, q]), len(names), targets, edits)
        out[label] = {"with_distractors": r["with_distractors"], "originals_only": r["originals_only"],
                      "sources": sources}
        h = r["with_distractors"]
        log(f"formats: recall@1 {label}: {h['overall']:.3f} (worst edit {h['min_edit']:.2f}), sources {sources}")
    thumb, full = by_label["HEIC, indexed from the embedded thumbnails"], by_label["HEIC, indexed from full decodes"]
    prev, raw = (by_label["DNG, indexed from the embedded 1616 px previews"],
                 by_label["DNG, indexed from the sensor data (libraw, half size)"])
    out["cosine_heic_thumb_vs_full"] = {"min": float((thumb * full).sum(1).min()), "mean": float((thumb * full).sum(1).mean())}
    out["cosine_dng_preview_vs_raw"] = {"min": float((prev * raw).sum(1).min()), "mean": float((prev * raw).sum(1).mean())}
    return out


def run(settings: Settings) -> dict[str, Any]:
    quick = settings.quick
    sizes = (dict(n_heic=16, n_heic_plain=6, n_dng=6, n_avif=2, n_png=6) if quick
             else dict(n_heic=48, n_heic_plain=16, n_dng=16, n_avif=4, n_png=16))
    corpus = formats_corpus(settings.cache, **sizes)
    n_jpeg = 16 if quick else 32
    jpegs = camera_corpus(settings.cache, n_jpeg).jpeg
    log(f"formats: HEIC backend {heif_backend()}; corpus {corpus.folder}")

    embedder = Embedder(_BACKBONE, device="cpu")
    embedder.optimize()
    res: dict[str, Any] = {"heif_backend": heif_backend(), "sizes": sizes, "n_jpeg": n_jpeg,
                           "precision": embedder.precision, "cores": cores()}
    as_str = lambda paths: [str(p) for p in paths]  # noqa: E731

    def pipeline(label: str, paths: list[Path]) -> dict[str, Any]:
        # A folder of 16 RAW files indexes in half a second: one hiccup of this shared machine halved
        # such a figure in one run and not in the next (15.5 and 30.2 img/s, same code, minutes apart).
        # Each folder is indexed PIPELINE_RUNS times into a fresh library; the median run is reported.
        warm_files(paths)
        folder = _folder(paths, label)
        try:
            runs = sorted((_pipeline(embedder, folder) for _ in range(PIPELINE_RUNS)), key=lambda x: x["rate"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # only symlinks: the corpus stays
        r = dict(runs[len(runs) // 2])
        r["files"] = len(paths)
        r["rates"] = [round(x["rate"], 1) for x in runs]
        log(f"formats: {label}: pipeline {r['rate']:.1f} img/s, median of {r['rates']} "
            f"({r['indexed']} indexed, {r['failed']} failed)")
        return r

    res["jpeg"] = pipeline("jpeg", jpegs)

    # HEIC with thumbnails: the pipeline, and the same files decoded in full as before.
    res["heic_thumb"] = pipeline("heic-thumb", corpus.heic_thumb)
    res["heic_thumb"]["sources"] = _sources(corpus.heic_thumb)
    res["heic_thumb_full_bound"] = _bound(as_str(corpus.heic_thumb[: max(8, len(corpus.heic_thumb) // 3)]), embedded=False)
    log(f"formats: HEIC with thumbnails decoded in full (before): {res['heic_thumb_full_bound']['best']:.1f} img/s")

    # HEIC without thumbnails against the full-decode bound, measured on both sides of the pipeline.
    plain = as_str(corpus.heic_plain)
    warm_files(corpus.heic_plain)
    res["heic_plain_bound"] = _bound(plain)
    res["heic_plain"] = pipeline("heic-plain", corpus.heic_plain)
    res["heic_plain_bound_after"] = _bound(plain)
    bound = (res["heic_plain_bound"]["best"] + res["heic_plain_bound_after"]["best"]) / 2
    res["heic_plain_vs_bound"] = res["heic_plain"]["rate"] / bound
    log(f"formats: HEIC without thumbnails {res['heic_plain']['rate']:.1f} img/s, bound {bound:.1f}: "
        f"{res['heic_plain_vs_bound']:.2f}")

    # RAW through the previews; the sensor-data decode as the reference.
    res["dng_full"] = pipeline("dng-full", corpus.dng_full)
    res["dng_full"]["sources"] = _sources(corpus.dng_full)
    res["dng_small"] = pipeline("dng-small", corpus.dng_small)
    res["dng_small"]["sources"] = _sources(corpus.dng_small)
    res["dng_raw_one_core"] = _bound(as_str(corpus.dng_small[:3]), embedded=False, one_core=True)
    log(f"formats: DNG sensor data, half size, one process: {res['dng_raw_one_core']['best']:.2f} img/s")

    res["avif"] = pipeline("avif", corpus.avif)
    res["png"] = pipeline("png", corpus.png)

    n_raw = max(2, len(corpus.heic_thumb) // 12)
    mixed = (corpus.heic_thumb + jpegs[: len(corpus.heic_thumb) // 2] + corpus.png
             + corpus.dng_full[: n_raw // 2] + corpus.dng_small[: n_raw - n_raw // 2])
    res["mixed"] = pipeline("mixed", mixed)
    res["mixed"]["composition"] = {"HEIC (thumbnail)": len(corpus.heic_thumb),
                                   "JPEG 12 MP": len(jpegs[: len(corpus.heic_thumb) // 2]),
                                   "PNG screenshot": len(corpus.png), "DNG 24 MP": n_raw}

    res["cosine_heic_thumb_vs_full_12mp"] = _cosines(embedder, corpus.heic_thumb[:16])
    res["cosine_dng_preview_vs_raw_24mp"] = _cosines(embedder, corpus.dng_small[:4] + corpus.dng_full[:4])
    log(f"formats: cosine thumbnail vs full {res['cosine_heic_thumb_vs_full_12mp']}, "
        f"preview vs sensor data {res['cosine_dng_preview_vs_raw_24mp']}")
    res["quality"] = _quality(settings, embedder)
    return res


def _met(value: float, target: float) -> str:
    return "**met**" if value >= target else "not met"


def markdown(r: dict[str, Any]) -> str:
    s = r["sizes"]
    tb, pb, pa = r["heic_thumb_full_bound"], r["heic_plain_bound"], r["heic_plain_bound_after"]
    raw1 = r["dng_raw_one_core"]
    mixed = r["mixed"]
    comp = ", ".join(f"{n} {k}" for k, n in mixed["composition"].items())
    lines = [
        f"HEIF decoder: {r['heif_backend']}. Model in {r['precision']} on {r['cores']} cores; every rate is "
        f"`Indexer.run` on a fresh library (model loaded), the median of {PIPELINE_RUNS} runs; the bounds are read + "
        "decode + prepare.",
        "",
        "| what | images/s | target |",
        "| --- | ---: | --- |",
        f"| camera JPEGs, 12 MP (reference, {r['n_jpeg']} files) | {r['jpeg']['rate']:.1f} | |",
        f"| **HEIC 12 MP with a 320x240 thumbnail** ({s['n_heic']} files, a quarter portrait; "
        f"decoded from: {r['heic_thumb']['sources']}) | **{r['heic_thumb']['rate']:.1f}** | >= 40: "
        f"{_met(r['heic_thumb']['rate'], TARGETS['heic_thumb'])} |",
        f"| the same files decoded in full (photosim before), decode bound alone, {r['cores']} cores | "
        f"{tb['best']:.1f} | |",
        f"| HEIC 12 MP without a thumbnail ({s['n_heic_plain']} files), pipeline | {r['heic_plain']['rate']:.1f} | |",
        f"| full-decode bound on all cores, before / after the pipeline (processes; threads) | "
        f"{pb['processes']:.1f} ({pb['threads']:.1f}) / {pa['processes']:.1f} ({pa['threads']:.1f}) | |",
        f"| **HEIC without thumbnail / full-decode bound** | **{r['heic_plain_vs_bound']:.2f}** | >= 0.9: "
        f"{_met(r['heic_plain_vs_bound'], TARGETS['heic_plain_vs_bound'])} |",
        f"| **DNG 24 MP, full-size JPEG preview** (Canon/Nikon style; {s['n_dng']} files, from: "
        f"{r['dng_full']['sources']}; runs {r['dng_full'].get('rates')}) | **{r['dng_full']['rate']:.1f}** | >= 30: "
        f"{_met(r['dng_full']['rate'], TARGETS['raw'])} |",
        f"| **DNG 24 MP, 1616 px preview** (Sony style; {s['n_dng']} files, from: {r['dng_small']['sources']}) | "
        f"**{r['dng_small']['rate']:.1f}** | >= 30: {_met(r['dng_small']['rate'], TARGETS['raw'])} |",
        f"| DNG 24 MP sensor data demosaiced at half size (the fallback), one process (libraw's OpenMP "
        f"threads) | {raw1['best']:.2f} | |",
        f"| AVIF 12 MP ({s['n_avif']} files) | {r['avif']['rate']:.1f} | read |",
        f"| PNG phone screenshots 1170x2532 ({s['n_png']} files) | {r['png']['rate']:.1f} | |",
        f"| **phone-like mixed folder** ({comp}) | **{mixed['rate']:.1f}** | >= 35: "
        f"{_met(mixed['rate'], TARGETS['mixed'])} |",
        "",
        "Vectors from the embedded picture against the full decode of the same file, cosine min / mean: "
        f"HEIC thumbnail vs 12 MP decode {r['cosine_heic_thumb_vs_full_12mp']['min']:.4f} / "
        f"{r['cosine_heic_thumb_vs_full_12mp']['mean']:.4f} ({r['cosine_heic_thumb_vs_full_12mp']['n']} files); "
        f"DNG preview vs sensor data {r['cosine_dng_preview_vs_raw_24mp']['min']:.4f} / "
        f"{r['cosine_dng_preview_vs_raw_24mp']['mean']:.4f} ({r['cosine_dng_preview_vs_raw_24mp']['n']} files).",
    ]
    q = r["quality"]
    lines += [
        "",
        f"Edited-copy recall@1 ({q['n_originals']} originals, {q['n_queries']} edited JPEG copies as queries, the "
        "other photos' copies as distractors), by how the library was indexed:",
        "",
        "| library | recall@1 | worst edit | originals only | decoded from |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for label, v in q.items():
        if not isinstance(v, dict) or "with_distractors" not in v:
            continue
        h, o = v["with_distractors"], v["originals_only"]
        lines.append(f"| {label} | {h['overall']:.3f} | {h['min_edit']:.2f} | {o['overall']:.3f} | {v['sources']} |")
    lines += ["", f"Cosine, library vectors of the same originals: HEIC thumbnail vs full decode min "
              f"{q['cosine_heic_thumb_vs_full']['min']:.4f} / mean {q['cosine_heic_thumb_vs_full']['mean']:.4f}; "
              f"DNG preview vs sensor data min {q['cosine_dng_preview_vs_raw']['min']:.4f} / mean "
              f"{q['cosine_dng_preview_vs_raw']['mean']:.4f}."]
    return "\n".join(lines)
