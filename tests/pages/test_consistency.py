"""Numbers that agree (issue 23): each lesson step's numbers are the linked page's numbers at the step's link, and
Home's and Gradient flow's headline numbers agree or say why they differ."""

import pytest

from tests.pages.screen_text import visible_texts
from tests.pages.test_screen_audit import open_page
from viz.measures import lesson as L

STEP = {s.key: (k, s) for k, s in enumerate(L.STEPS, start=1)}


def _page_of(key, setting):
    k, step = STEP[key]
    return L.REVEALS[key](setting), open_page(step.page, L.query(step, setting))


@pytest.mark.slow
def test_landscape_step_is_the_landscape_pages_verdict():
    reveal, at = _page_of("landscape", 32)
    sentence = reveal.takeaway.split(": ", 1)[1]  # "On 32 test images: <the verdict>"
    texts = visible_texts(at)
    assert any(sentence in t for t in texts), (sentence, [t for t in texts if "smoother" in t])
    for name, v in reveal.numbers.items():
        if name.endswith("ratio"):
            assert any(f"{name.split()[0]}" in t and L.fmt(v) in t for t in texts if "λmin" in t), (name, v)
