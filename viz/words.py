"""Numbers as words, for the sentences of both layers (the measurements' answers and the charts' captions)."""

import math
import re


def fmt(v):
    """A number as a person reads it: 3 significant digits, powers of ten when large or small."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if math.isinf(v):
        return "infinite"
    if v == 0:
        return "0"
    a = abs(v)
    if 100 <= a < 1e4:
        return f"{v:.0f}"
    if 1e-3 <= a < 100:
        return f"{v:.3g}"
    e = math.floor(math.log10(a))
    return f"{v / 10**e:.2g}e{e}"


# What a page says when a measurement overflowed (inf) or became undefined (NaN), in words (issue 23's audit)
OVERFLOW_NOTE = ("Some numbers grew too large for float32 (they overflowed, or became undefined): the captions say "
                 "where. This is the physics, not a bug.")


def pct(v):
    """A fraction as a percentage with one decimal ("n/a" when missing)."""
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


_MODEL_ID = re.compile(r"^(?P<data>.+?)-(?P<kind>resnet|plain)(?P<depth>\d+)(?P<rest>(?:-.+)?)$")
_STAMP = re.compile(r"^-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)\d\d$")  # the Train page's time stamp


SOURCES = {"published": "published weights", "dutta": "Dutta's published weights"}  # zoo id suffix -> whose weights


def model_name(name: str) -> str:
    """How a person names a zoo model, from its zoo id: "cifar10-resnet56-published" -> "ResNet-56, published
    weights", "cifar10-plain56" -> "plain-56", "shapes-resnet8-20261201-120300" -> "ResNet-8 on shapes, trained
    2026-12-01 12:03"; an id of another form is returned as it is. The one function every picker, caption and legend uses."""
    m = _MODEL_ID.match(str(name))
    if not m:
        return str(name)
    kind = f"{'ResNet' if m['kind'] == 'resnet' else 'plain'}-{m['depth']}"
    if m["data"] == "untrained":  # Inspect's stand-in while the zoo is empty
        return f"{kind}, untrained"
    kind += "" if m["data"] == "cifar10" else f" on {m['data']}"  # CIFAR-10, the lab's default, goes unsaid
    rest, stamp = m["rest"], _STAMP.match(m["rest"])
    if rest[1:] in SOURCES:
        return f"{kind}, {SOURCES[rest[1:]]}"
    if stamp:
        return f"{kind}, trained {stamp[1]}-{stamp[2]}-{stamp[3]} {stamp[4]}:{stamp[5]}"
    return f"{kind}, {rest.lstrip('-')}" if rest else kind
