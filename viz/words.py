"""Numbers as words, for the sentences of both layers (the measurements' answers and the charts' captions)."""

import math


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


def pct(v):
    """A fraction as a percentage with one decimal ("n/a" when missing)."""
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"
