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


def _headline_ratio(at, name):
    """The "<name> 650x (...)" of the layer-gradient chart's headline on the page `at` shows."""
    import re

    for t in visible_texts(at):
        if t.startswith("The first layer's gradient against the last layer's") and (m := re.search(
                rf"{re.escape(name)} ([0-9.e+-]+)x", t)):
            return m[1]
    raise AssertionError(f"no headline ratio for {name}")


@pytest.mark.slow
def test_home_and_gradient_flow_show_one_number():
    home, gf = open_page("home"), open_page("gradient_flow")
    for name in ("ResNet-56", "plain-56"):
        assert _headline_ratio(home, name) == _headline_ratio(gf, name)


@pytest.mark.slow
def test_gradient_step_is_the_gradient_flow_pages_number():
    reveal, at = _page_of("gradient", 56)
    assert _headline_ratio(at, "plain-56") == L.fmt(reveal.numbers["ratio_plain"])
    assert _headline_ratio(at, "ResNet-56") == L.fmt(reveal.numbers["ratio_res"])


@pytest.mark.slow
def test_degradation_step_is_the_train_pages_headline():
    reveal, at = _page_of("degradation", "cifar10")
    texts = visible_texts(at)
    head = next(t for t in texts if "mean training error" in t)
    for d in (20, 56):
        assert f"{reveal.numbers[f'plain{d}']:.1f}%" in head, (d, head)
