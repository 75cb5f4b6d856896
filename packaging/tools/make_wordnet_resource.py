"""Write ``resources/wordnet/imagenet-wordnet.json``: the 1000 ImageNet classes in the WordNet noun tree.

Why a derived file rather than WordNet itself: the app needs only the part of WordNet 3.0 above the
classifier's 1000 classes (about 1,900 synsets of its 82,000 nouns), to say that a tench is a fish
and a castle a building. The full database is 30 MB and would have to be parsed at start-up; this
file is about 200 KB of JSON, read in milliseconds, and nothing is downloaded at run time.

Inputs (build time only):

* WordNet 3.0 from Debian's ``wordnet-base`` package (``apt-get install wordnet-base``):
  ``/usr/share/wordnet/data.noun`` and ``noun.exc``, or ``--wordnet DIR``.
* The 1000 class ids in the classifier's order, from timm's ``data/_info/imagenet_synsets.txt``
  (timm is a photosim dependency), and their short display names from torchvision
  (``ResNet50_Weights.IMAGENET1K_V2.meta["categories"]``).

ImageNet-1k class ids are WordNet 3.0 noun offsets ("n" + 8 digits), and the classifier's class
index is the position of the id in the sorted list of ids. The script checks that before writing:
the ids must strictly increase, every id must be a noun synset of this WordNet, every display name
must be one of its synset's lemmas (up to case and punctuation, or with a word added to tell two
classes apart, as in "crane bird"), and a few well-known ids must be where they belong. (Matching
names alone cannot recover the ids: dozens of names, such as "tabby", "screen" or "switch", fit
more than one synset in the right order.)

Run: ``python packaging/tools/make_wordnet_resource.py`` (writes the file and prints a summary).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "resources" / "wordnet" / "imagenet-wordnet.json"

#: Ids every ImageNet-1k copy agrees on: (class index, wnid, display name). A wrong alignment fails here.
KNOWN = [
    (0, "n01440764", "tench"),
    (1, "n01443537", "goldfish"),
    (281, "n02123045", "tabby"),
    (285, "n02124075", "Egyptian cat"),
    (999, "n15075141", "toilet tissue"),
]


def norm(text: str) -> str:
    """Lower case, letters and digits only, single spaces: 'Shih-Tzu' and 'shih_tzu' meet."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower().replace("_", " ")).split())


def read_nouns(path: Path) -> dict[int, dict]:
    """data.noun -> {offset: {"lemmas": [...], "hypernyms": [...]}} (hypernyms and instance hypernyms)."""
    synsets: dict[int, dict] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("  "):  # the licence header
                continue
            data = line.split(" | ", 1)[0].split()
            offset = int(data[0])
            w_cnt = int(data[3], 16)
            lemmas = [data[4 + 2 * i] for i in range(w_cnt)]
            pos = 4 + 2 * w_cnt
            p_cnt = int(data[pos])
            hypernyms = []
            for j in range(p_cnt):
                symbol, target, target_pos = data[pos + 1 + 4 * j : pos + 4 + 4 * j]
                if symbol in ("@", "@i") and target_pos == "n":
                    hypernyms.append(int(target))
            # Adjective markers like "(p)" never occur on nouns, but lex ids can; strip any "(...)".
            synsets[offset] = {"lemmas": [re.sub(r"\(.*\)$", "", w) for w in lemmas], "hypernyms": hypernyms}
    return synsets


def imagenet_wnids() -> list[str]:
    """The 1000 ImageNet-1k ids in class-index order, as timm (a photosim dependency) ships them."""
    from importlib.resources import files

    text = files("timm.data").joinpath("_info", "imagenet_synsets.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def name_fits(name: str, lemmas: list[str]) -> bool:
    """Does a display name match one of the synset's lemmas?

    Exactly after :func:`norm` ('Shih-Tzu' / 'Shih-Tzu'), ignoring spaces ('pingpong ball'), or as a
    display name that added words to tell two classes apart ('crane bird', 'maillot tank suit').
    """
    n = norm(name)
    words = set(n.split())
    for lemma in lemmas:
        m = norm(lemma)
        if m == n or m.replace(" ", "") == n.replace(" ", "") or set(m.split()) <= words:
            return True
    return False


def check_alignment(names: list[str], wnids: list[str], synsets: dict[int, dict]) -> None:
    """Refuse a class list whose order or names disagree with WordNet (see the module docstring)."""
    if len(wnids) != 1000 or len(names) != 1000:
        raise SystemExit(f"expected 1000 classes, got {len(wnids)} ids and {len(names)} names")
    offsets = [int(w[1:]) for w in wnids]
    if any(a >= b for a, b in zip(offsets, offsets[1:])):
        raise SystemExit("the ids are not in increasing order: not the standard class order")
    bad = [(i, wnids[i], names[i]) for i in range(1000)
           if offsets[i] not in synsets or not name_fits(names[i], synsets[offsets[i]]["lemmas"])]
    if bad:
        raise SystemExit(f"{len(bad)} classes whose name is not a lemma of their synset: {bad[:10]}")
    for index, wnid, name in KNOWN:
        if wnids[index] != wnid or names[index] != name:
            raise SystemExit(f"class {index} is {wnids[index]} {names[index]!r}, expected {wnid} {name!r}")


def ancestors(offset: int, synsets: dict[int, dict]) -> set[int]:
    seen: set[int] = set()
    stack = [offset]
    while stack:
        for parent in synsets[stack.pop()]["hypernyms"]:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def read_plurals(path: Path, vocabulary: set[str]) -> dict[str, str]:
    """noun.exc irregular plurals ('geese goose') whose base form is in the vocabulary."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            inflected, base = parts[0].replace("_", " "), parts[1].replace("_", " ")
            if base in vocabulary and inflected != base:
                out[inflected] = base
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", default="/usr/share/wordnet", help="folder with data.noun (Debian wordnet-base)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    wn = Path(args.wordnet)
    if not (wn / "data.noun").exists():
        print(f"no {wn / 'data.noun'}: install Debian's wordnet-base or pass --wordnet", file=sys.stderr)
        return 1
    from torchvision.models import ResNet50_Weights

    names = list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])
    assert len(names) == 1000
    synsets = read_nouns(wn / "data.noun")
    wnids = imagenet_wnids()
    check_alignment(names, wnids, synsets)
    chosen = [int(w[1:]) for w in wnids]

    # The tree: every class synset and all its ancestors, with lemmas and parents.
    nodes: set[int] = set()
    for offset in chosen:
        nodes.add(offset)
        nodes |= ancestors(offset, synsets)
    ordered = sorted(nodes)
    vocabulary = {lemma.replace("_", " ").lower() for o in ordered for lemma in synsets[o]["lemmas"]}
    resource = {
        "about": (
            "The 1000 ImageNet-1k classes (in the classifier's order) and their WordNet 3.0 hypernym "
            "tree, derived by packaging/tools/make_wordnet_resource.py from Debian's wordnet-base. "
            "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. See LICENSE-WordNet.txt."
        ),
        "wordnet_version": "3.0",
        "classes": [{"wnid": f"n{o:08d}", "name": names[i]} for i, o in enumerate(chosen)],
        "synsets": {
            f"n{o:08d}": {
                "lemmas": [lemma.replace("_", " ") for lemma in synsets[o]["lemmas"]],
                "parents": [f"n{p:08d}" for p in synsets[o]["hypernyms"] if p in nodes],
            }
            for o in ordered
        },
        "plurals": read_plurals(wn / "noun.exc", vocabulary),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(resource, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n")
    print(f"wrote {out}: {len(chosen)} classes, {len(ordered)} synsets, {len(vocabulary)} words, "
          f"{len(resource['plurals'])} irregular plurals, {out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
