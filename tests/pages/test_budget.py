"""A link asking for a pass over the memory budget is refused with one sentence, before anything is allocated."""

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from viz.measures import budget

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc (Linux)")
def test_the_deepest_largest_gradient_flow_link_is_refused_at_once():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"depth": "1202", "batch": "256"})
    at.run()
    before, t0 = rss_mb(), time.perf_counter()
    at.switch_page("pages/gradient_flow.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = [e.value for e in at.warning if "memory" in e.value]  # a notice that says what to lower, not an error box
    assert not at.error and len(said) == 1, [e.value for e in at.error] + said
    assert "Not run: " in said[0] and "ResNet-1202 at batch 256" in said[0] and "lower the batch size to" in said[0], said
    assert time.perf_counter() - t0 < 20 and rss_mb() - before < 300  # refused before the 30 GB pass, not after
    at.selectbox(key="depth").set_value(8).run()  # within budget at batch 256: the page runs it
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert "ResNet-8" in " ".join(c.value for c in at.caption)


def must_not_run(name: str):
    def measure(*args, **kwargs):
        raise AssertionError(f"{name} ran: the run was not refused before it started")

    return measure


def refused(page: str, query: dict, monkeypatch, budget_mb: float | None = None, never=()) -> str:
    """The one refusal notice a link to `page` gets (any of the `never` measurement functions, (module, name), raising if
    called: the refusal comes before the run), and no exception."""
    for module, name in never:
        monkeypatch.setattr(module, name, must_not_run(name))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    if budget_mb is not None:
        monkeypatch.setenv("SKIPLAB_REQUEST_MB", str(budget_mb))
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = [e.value for e in at.warning if "of memory, over the" in e.value]  # a notice, not an error box
    assert not at.error and len(said) == 1 and said[0].startswith("Not run: "), [e.value for e in at.error] + said
    return said[0]


@pytest.mark.slow  # the app's first run and the page: 15-40 s on 2 busy cores
def test_the_largest_landscape_link_is_refused_naming_the_images_that_fit(monkeypatch):
    from viz.measures import curvature, landscape

    error = refused("landscape", {"ls_images": "2048"}, monkeypatch,
                    never=[(landscape, "grid_part"), (curvature, "curvature_at")])
    fits = int(error.split("lower the number of images to ")[1].rstrip("."))
    assert " over 2048 images " in error and 8 <= fits < 2048
    assert budget_fits(lambda n: budget.landscape_mb(56, n), fits)


@pytest.mark.slow  # the app's first run and the page: 15-40 s on 2 busy cores
def test_attributions_over_budget_are_refused_naming_the_steps_that_fit(monkeypatch):
    from viz.measures import attribution

    error = refused("inspect", {"ins_show": "Why (Captum)", "ins_steps": "128"}, monkeypatch, budget_mb=150,
                    never=[(attribution, "integrated_gradients"), (attribution, "saliency")])
    assert "at 128 IG steps" in error and "lower the IG steps to" in error, error


@pytest.mark.slow  # the app's first run and the page: 15-40 s on 2 busy cores
def test_image_line_gradients_over_budget_are_refused(monkeypatch):
    from viz.measures import shattered

    error = refused("shattered", {"sh_show": "Image classifiers"}, monkeypatch, budget_mb=100,
                    never=[(shattered, "image_line_gradient")])
    assert "choose a shallower pair" in error, error


@pytest.mark.slow
@pytest.mark.parametrize("view,query,words", [
    ("Lesions", {"res_view": "Lesions"}, "choose shallower models"),
    ("Gradient paths", {"res_view": "Gradient paths", "res_batch": "64"}, "lower the images per draw to"),
])
def test_residuals_runs_over_budget_are_refused(monkeypatch, view, query, words):
    from viz.measures import residuals

    error = refused("residuals", query, monkeypatch, budget_mb=40 if view == "Lesions" else 120,
                    never=[(residuals, "setting_sums"), (residuals, "path_gradient_sums"), (residuals, "response_sums")])
    assert words in error, error


def budget_fits(estimate, value) -> bool:
    return estimate(value) <= budget.request_budget_mb() < estimate(value + 1)
