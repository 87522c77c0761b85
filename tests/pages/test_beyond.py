"""AppTest for the Beyond-ResNet page, on small settings."""

import pytest

from tests.pages.test_landscape import charts, open_page, text
from viz.measures import normfree as nf


def test_refinement_view_shows_the_published_net_and_its_plain_twin():
    at = open_page("pages/beyond.py", by_pair="ResNet-20 (published) and plain-20", by_images=16)
    assert at.title[0].value == "Beyond ResNet"
    assert len(charts(at)) == 1
    words = text(at, "markdown") + " " + text(at)
    assert "In ResNet-20, published weights," in words and "have cosine > 0" in words  # a person's name, no zoo id
    assert "Jastrzebski et al. (ICLR 2018)" in words and "not comparable" in words  # the paper beside ours; the twin


def test_norm_free_view_probes_six_nets_and_trains_two(monkeypatch):
    monkeypatch.setitem(nf.LIVE, "depth", 8)
    monkeypatch.setitem(nf.LIVE, "limit", 64)
    monkeypatch.setitem(nf.LIVE, "test_limit", 32)
    at = open_page("pages/beyond.py", by_view="Without batch norm", by_depth=20)
    assert len(charts(at)) == 1
    words = text(at, "markdown")
    for scheme in nf.SCHEMES:
        assert f"{scheme}:" in words, scheme
    at.button(key="by_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert len(charts(at)) == 2 and "Training loss over the last fifth" in text(at, "markdown")
    assert "ReZero: done" in text(at)


@pytest.fixture(autouse=True)
def _clear_caches():
    import streamlit as st

    st.cache_data.clear()
    yield
