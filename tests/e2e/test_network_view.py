"""The network picture on Gradient flow in a real browser: click a block, see inside it, step the passes; and the
presentation mode's first screen (1280x720) starts with a chart."""

import contextlib
import time

import pytest

from tests.e2e.conftest import SHOTS

pytestmark = pytest.mark.e2e

# the picture, and under it one chart at a time: the opened block, the passes, the block charts ("Show")
PICTURE, UNDER = 0, 1


def _show(page, wait_for_run, charts, view):
    """Pick the chart under the picture, as a user would, and wait until it is drawn."""
    page.locator('[data-testid="stButtonGroup"]').get_by_text(view, exact=True).click()
    wait_for_run()
    charts(2)


def _plot(page, k):
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').nth(k)


def _tile(page, block):
    """Page coordinates of block `block`'s tile in the picture (its only hoverable trace, point = block)."""
    plot = _plot(page, PICTURE)
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    xy = plot.evaluate("""(gd, b) => {
        const t = gd._fullData.find(d => d.hoverinfo !== 'skip' && d.customdata);  // decoded arrays
        const L = gd._fullLayout;
        return [L.xaxis.l2p(t.x[b]) + L._size.l, L.yaxis.l2p(t.y[b]) + L._size.t];
    }""", block)
    return box["x"] + xy[0], box["y"] + xy[1]


def _expected(block):
    """The page's default view, probed here: ResNet-56 at init, seed 0, 32 shapes images (the oracle)."""
    import torch

    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import ResNet, ResNetConfig
    from viz.probe import probe

    torch.set_num_threads(1)
    x, y = make_shapes("test", n=32, seed=0)
    t = probe(ResNet(ResNetConfig(depth=56, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0), x.float() / 255, y)
    return t.blocks.iloc[block]


def test_click_a_block_and_step_the_passes(open_page, wait_for_run, charts, shot):
    from viz.charts.style import fmt

    page = open_page("gradient_flow")
    charts(2)  # the product changed on purpose (issue 16): a first view draws the picture and one chart under it
    block = 9  # the first block of stage 2: drawn in full, with the A shortcut
    x, y = _tile(page, block)
    start = time.perf_counter()
    page.mouse.click(x, y)
    wait_for_run()
    page.wait_for_function(
        """b => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.textContent.includes(`, block ${b}`))""",
        arg=block)
    seconds = time.perf_counter() - start
    print(f"click to drawn detail: {seconds:.1f} s")
    assert page.locator('[data-testid="stNumberInput"] input').last.input_value() == str(block)
    detail = _plot(page, UNDER).text_content()  # the click opened the block under the picture
    r = _expected(block)
    for v in (r.x_norm, r.fx_norm, r.out_norm, r.grad_norm, r.grad_in_norm, r.grad_skip_norm, r.grad_branch_norm):
        assert fmt(float(v)) in detail, (fmt(float(v)), detail[:500])
    assert "ResNet-56, block 9" in detail and "plain-56, block 9" in detail
    _show(page, wait_for_run, charts, "Block gradients")
    marked = _plot(page, UNDER).text_content()  # the block charts mark the chosen block
    assert f"block {block}" in marked
    _plot(page, PICTURE).scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "network_view_picked.png"))  # the first screen after the click
    SHOTS.mkdir(parents=True, exist_ok=True)

    _show(page, wait_for_run, charts, "The passes")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot .slider-label')")
    passes = _plot(page, UNDER)
    passes.scroll_into_view_if_needed()
    at = lambda: passes.locator(".slider-label").first.text_content()  # noqa: E731 (the slider's current step)
    assert at().endswith("→0")
    passes.locator(".updatemenu-button").filter(has_text="Play").click()
    page.wait_for_function("el => !el.querySelector('.slider-label').textContent.endsWith('→0')",
                           arg=passes.element_handle(), timeout=10_000)
    page.wait_for_timeout(1000)
    passes.locator(".updatemenu-button").filter(has_text="Pause").click()
    assert "→" in at() or "←" in at()
    moved = passes.evaluate("gd => gd._fullData[4].x[0]")  # the marker of where the pass is
    assert moved > 0
    rail = passes.locator(".slider-rail-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] - 2, rail["y"] + rail["height"] / 2)  # the last step: back at block 0
    page.wait_for_function("el => el.querySelector('.slider-label').textContent.endsWith('←0')",
                           arg=passes.element_handle(), timeout=10_000)
    # the slider's label moves before Plotly has drawn the frame's data: wait (bounded) for the backward step's text
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function("el => String(el._fullData[4].text[0]).includes('at (+)')", arg=passes.element_handle(),
                               timeout=10_000)
    text = passes.evaluate("gd => gd._fullData[4].text[0]")
    assert "at (+): skip" in text, text  # the backward step names the split at the (+)
    passes.screenshot(path=str(SHOTS / "network_view_passes.png"))
    shot("network_view")


def test_presentation_mode_starts_with_a_chart(page, app_url, charts):
    from tests.e2e.conftest import wait_for_app

    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/gradient_flow?present=true", wait_until="domcontentloaded")
    wait_for_app(page)
    charts(2)
    top = _plot(page, PICTURE).bounding_box()["y"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "network_view_present.png"))
    assert top < 720 - 100, f"the first chart starts at y={top:.0f}, below the 1280x720 first screen"
    assert page.get_by_text("Settings").count() >= 1  # the controls are folded away, one click from view
