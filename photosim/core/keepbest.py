"""Which photo of a duplicate group to keep, and a reason a person can check.

A chain of rules, applied in the user's order (a setting, :data:`DEFAULT_RULES` by default): each
rule keeps the candidates that are best by it (within a tolerance: 12.0 and 11.9 MP are the same
size) and the next rule chooses among those; what is left after the last rule is decided by name.
The reason names the rules on which the keeper beats the runner-up (the candidate that lasted
longest), with both values, e.g. "original format (HEIC vs JPEG without camera data), 12.0 MP vs
3.1 MP". Why a chain and not a weighted score: a score cannot explain itself, and the tools people
complain about (a JPEG kept over the original HEIC) are the ones that add up points.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .photofacts import ContentFacts

RULES = ("original", "raw", "resolution", "pixels", "compression", "sharpness", "metadata", "reference", "older")
DEFAULT_RULES: tuple[str, ...] = RULES
RULE_LABELS = {
    "original": "original format over a derived one",
    "raw": "RAW over JPEG",
    "resolution": "the photo itself at a higher resolution",
    "pixels": "more pixels",
    "compression": "less compression",
    "sharpness": "sharper",
    "metadata": "with capture date and camera data",
    "reference": "inside a reference folder",
    "older": "older file",
}

PIXELS_TOLERANCE = 0.03
"""Sizes within 3% are the same size (a crop of a few rows, a rounding on resize)."""
RESOLUTION_TOLERANCE = 0.05
"""Resolutions within 5% are the same. They come from the same-photo check's alignment, on pictures
reduced to 512 pixels, and are that exact: a phone screenshot showing a 600 px photo 540 px wide
measured 0.9 to 0.3%, a crop at the original's scale 0.998, a half-size copy 0.5 to 0.1%."""
QUALITY_TOLERANCE = 3
SHARPNESS_RATIO = 1.25
"""Sharper only by a quarter or more: re-saving the same picture moves the measure by a few percent."""


@dataclass(frozen=True)
class Candidate:
    """One file of a group as the rules see it."""

    path: str
    facts: ContentFacts
    mtime: float
    taken_at: float | None
    in_reference: bool
    resolution: float | None = None
    """The resolution this file holds the group's photo at, relative to one member of the group
    (linear; None: not measured). A 540 x 1170 phone screenshot has more pixels than the 600 x 400
    photo it shows, but shows it 540 pixels wide: its resolution is 0.9 of the photo's. A crop at the
    original's scale is about 1.0, so "pixels" (more of the picture) decides between the two."""


@dataclass(frozen=True)
class Choice:
    keeper: int
    """Index of the keeper in the candidates given."""
    reason: str
    order: tuple[int, ...]
    """Every candidate, best first (the keeper, then the runner-up...)."""


def normalize_rules(rules: Sequence[str] | None) -> tuple[str, ...]:
    """A usable rule order: known names once each, in the given order; rules left out keep their
    default place at the end (so an old settings file still orders by every rule), except
    "resolution", which goes just before "pixels"."""
    out: list[str] = []
    for name in rules or ():
        if isinstance(name, str) and name in RULES and name not in out:
            out.append(name)
    missing = [r for r in DEFAULT_RULES if r not in out]
    if "resolution" in missing and "pixels" in out:
        # newer than the settings files that name "pixels": it decides what "pixels" meant to
        out.insert(out.index("pixels"), "resolution")
        missing.remove("resolution")
    return tuple(out + missing)


def _mp(c: Candidate) -> float:
    return c.facts.content_width * c.facts.content_height / 1e6


def _mp_text(mp: float) -> str:
    return f"{mp:.1f} MP" if mp >= 1 else f"{mp:.2f} MP"


def _date(ts: float, with_time: bool = False) -> str:
    try:
        return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if with_time else "%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return "?"


# each rule: (value of a candidate or None when unknown, "is a better than b by enough", "a vs b" text)
_Value = Callable[[Candidate], float | None]
_RULE_VALUES: dict[str, _Value] = {
    "original": lambda c: float(c.facts.origin),
    "raw": lambda c: 1.0 if c.facts.raw else 0.0,
    "resolution": lambda c: c.resolution,
    "pixels": _mp,
    "compression": lambda c: None if c.facts.quality is None else float(c.facts.quality),
    "sharpness": lambda c: c.facts.sharpness,
    "metadata": lambda c: float((c.taken_at is not None) + bool(c.facts.camera)),
    "reference": lambda c: 1.0 if c.in_reference else 0.0,
    "older": lambda c: -c.mtime,
}


def _better(rule: str, a: float, b: float) -> bool:
    """Is value ``a`` better than ``b`` by more than the rule's tolerance?"""
    if rule == "pixels":
        return a > b * (1 + PIXELS_TOLERANCE)
    if rule == "resolution":
        return a > b * (1 + RESOLUTION_TOLERANCE)
    if rule == "compression":
        return a > b + QUALITY_TOLERANCE
    if rule == "sharpness":
        return a > max(b, 1e-6) * SHARPNESS_RATIO
    if rule == "older":
        return a > b + 1.0  # a second apart at least (copies made in one go share their second)
    return a > b


def _explain(rule: str, a: Candidate, b: Candidate) -> str:
    if rule == "original":
        return f"original format ({a.facts.origin_label} vs {b.facts.origin_label})"
    if rule == "raw":
        return f"RAW over {b.facts.format}"
    if rule == "resolution":
        return f"holds the photo at {a.resolution / b.resolution:.1f}x the resolution"  # type: ignore[operator]
    if rule == "pixels":
        return f"{_mp_text(_mp(a))} vs {_mp_text(_mp(b))}"
    if rule == "compression":
        return f"less compression (quality {a.facts.quality} vs {b.facts.quality})"
    if rule == "sharpness":
        return f"sharper ({a.facts.sharpness:.0f} vs {b.facts.sharpness:.0f})"
    if rule == "metadata":
        have = [w for w, ok in (("capture date", a.taken_at is not None), ("camera data", bool(a.facts.camera))) if ok]
        return "with " + " and ".join(have)
    if rule == "reference":
        return "inside a reference folder"
    same_day = _date(a.mtime) == _date(b.mtime)
    return f"older file ({_date(a.mtime, same_day)} vs {_date(b.mtime, same_day)})"


def choose_keeper(candidates: Sequence[Candidate], rules: Sequence[str] | None = None) -> Choice:
    """Apply the rule chain; see the module docstring. ``candidates`` must not be empty."""
    if not candidates:
        raise ValueError("a group has at least one photo")
    order_rules = normalize_rules(rules)
    alive = list(range(len(candidates)))
    eliminated: list[int] = []  # in the order they dropped out
    for rule in order_rules:
        if len(alive) == 1:
            break
        values = {i: _RULE_VALUES[rule](candidates[i]) for i in alive}
        known = [v for v in values.values() if v is not None]
        if len(known) < len(alive):  # a rule that cannot judge every remaining candidate judges none
            continue
        best = max(known)
        keep = [i for i in alive if not _better(rule, best, values[i])]  # type: ignore[arg-type]
        # dropped now, worst first: the later a candidate drops out, the closer it came to being kept
        eliminated += sorted((i for i in alive if i not in keep), key=lambda i: values[i])  # type: ignore[arg-type,return-value]
        alive = keep
    alive.sort(key=lambda i: (len(candidates[i].path), candidates[i].path))
    order = tuple(alive + eliminated[::-1])
    keeper = order[0]
    if len(order) == 1:
        return Choice(keeper, "the only photo", order)
    runner = order[1]
    return Choice(keeper, explain(candidates[keeper], candidates[runner], order_rules), order)


def explain(keeper: Candidate, other: Candidate, rules: Sequence[str] | None = None) -> str:
    """Why ``keeper`` over ``other``: the rules, in order, by which it is better (at most two)."""
    reasons = []
    for rule in normalize_rules(rules):
        va, vb = _RULE_VALUES[rule](keeper), _RULE_VALUES[rule](other)
        if va is None or vb is None:
            continue
        if rule == "resolution" and _better("pixels", _mp(keeper), _mp(other)):
            continue  # a plain smaller copy: "0.26 MP vs 0.07 MP" says it, and says it plainer
        if _better(rule, va, vb):
            reasons.append(_explain(rule, keeper, other))
        if len(reasons) == 2:
            break
    name = os.path.basename(keeper.path)
    if not reasons:
        return f"keeps {name}: the photos are alike by every rule; first by name"
    return f"keeps {name}: " + ", ".join(reasons)
