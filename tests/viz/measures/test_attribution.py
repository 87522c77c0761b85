"""Captum attributions through the per-call skip/drop, with torch.autograd as the oracle."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.data import make_shapes
from tests.viz.measures.test_inspect import make
from viz.measures.attribution import (
    DESCRIPTIONS,
    attribute_all,
    block_importance,
    branch_gates,
    gradcam,
    integrated_gradients,
    saliency,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def images():
    x, y = make_shapes("test", n=6)
    return x.float() / 255, y


def score(model, x, target, skip=None, drop=None):
    with torch.no_grad():
        return float(model(x, skip=skip, drop=drop)[0, target])


def test_integrated_gradients_completeness_within_2_percent_at_64_steps(images):
    model = make(0, depth=8)
    xs, ys = images
    for k in range(4):
        x, t = xs[k : k + 1], int(ys[k])
        a, delta = integrated_gradients(model, x, t, steps=64)
        gap = score(model, x, t) - score(model, torch.zeros_like(x), t)  # f(x) - f(black), by the model itself
        assert abs(a.sum() - gap) <= 0.02 * abs(gap), (k, a.sum(), gap)
        assert delta == pytest.approx(a.sum() - gap, abs=1e-3 * max(1, abs(gap)))


def test_integrated_gradients_respect_skip_and_drop(images):
    model = make(1, depth=8)
    x, t = images[0][:1], 3
    skip, drop = [False, True, True], [False, False, True]
    a, _ = integrated_gradients(model, x, t, steps=64, skip=skip, drop=drop)
    gap = score(model, x, t, skip, drop) - score(model, torch.zeros_like(x), t, skip, drop)
    assert abs(a.sum() - gap) <= 0.02 * abs(gap)
    b, _ = integrated_gradients(model, x, t, steps=64)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("skip,drop", [(None, None), ([False, True, False], None), (None, [True, False, False])])
def test_saliency_is_the_largest_absolute_input_gradient(images, skip, drop):
    model = make(2, depth=8)
    x, t = images[0][1:2], 5
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(model(xg, skip=skip, drop=drop)[0, t], xg)
    np.testing.assert_allclose(saliency(model, x, t, skip, drop), g[0].abs().amax(0).numpy(), rtol=1e-5, atol=1e-7)


def test_gradcam_by_hand(images):
    model = make(3, depth=8)
    x, t, b = images[0][2:3], 1, 1
    acts = {}
    h = model.blocks[b].register_forward_hook(lambda m, a, out: acts.update(a=out))
    try:
        s = model(x)[0, t]
    finally:
        h.remove()
    (g,) = torch.autograd.grad(s, acts["a"])
    cam = F.relu((g.mean((2, 3), keepdim=True) * acts["a"]).sum(1, keepdim=True))  # (1, 1, 16, 16)
    up, raw = gradcam(model, x, t, b)
    np.testing.assert_allclose(raw, cam[0, 0].detach().numpy(), rtol=1e-4, atol=1e-6)
    want = F.interpolate(cam, size=(32, 32), mode="bilinear")[0, 0].detach().numpy()
    np.testing.assert_allclose(up, want, rtol=1e-4, atol=1e-6)
    assert up.shape == (32, 32) and raw.shape == (16, 16)


def gated_score(model, x, t, g):
    """act(g_i F_i(x) + shortcut(x)) block by block, no hooks."""
    with torch.no_grad():
        h = model.features(x)
        for gi, b in zip(g, model.blocks):
            h = b.act(gi * b.branch(h) + b.shortcut(h))
        return float(model.head(h)[0, t])


def test_branch_gates_add_up_to_the_gap_between_all_and_no_branches(images):
    model = make(4, depth=14)
    x, t = images[0][3:4], 2
    df = branch_gates(model, x, t, steps=64)
    n = len(model.blocks)
    gap = gated_score(model, x, t, [1.0] * n) - gated_score(model, x, t, [0.0] * n)
    assert gated_score(model, x, t, [1.0] * n) == pytest.approx(score(model, x, t), rel=1e-5)
    assert df.attrs["score_gap"] == pytest.approx(gap, rel=1e-4)
    assert abs(df.importance.sum() - gap) <= 0.02 * abs(gap)
    # one gate alone: its attribution is that gate's path integral; the sign of a lone big block matches
    assert list(df.block) == list(range(n)) and list(df.stage) == [b.stage for b in model.blocks]


def test_layer_ig_per_branch_matches_swapping_that_branch(images):
    model = make(5, depth=8)
    x, t = images[0][4:5], 7
    df = block_importance(model, x, t, steps=64)
    black = torch.zeros_like(x)
    for i, b in enumerate(model.blocks):
        keep = {}
        h = b.branch.register_forward_hook(lambda m, a, out, keep=keep: keep.update(f=out))
        try:
            model(black)
        finally:
            h.remove()
        h = b.branch.register_forward_hook(lambda m, a, out, keep=keep: keep["f"])  # F_i := F_i(black)
        try:
            swapped = score(model, x, t)
        finally:
            h.remove()
        gap = score(model, x, t) - swapped
        assert abs(df.importance[i] - gap) <= 0.02 * abs(gap) + 1e-3, (i, df.importance[i], gap)


def test_attribute_all_never_touches_the_model(images):
    model = make(6, depth=8).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    att = attribute_all(model, images[0][:1], 0, 2, steps=8, noise=0.1, drop=[False, True, False])
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert att.ig.shape == att.saliency.shape == att.gradcam.shape == att.ig_nt.shape == (32, 32)
    assert att.blocks.importance[1] == 0  # the removed branch has no share
    assert set(att.seconds) == {"saliency", "ig", "ig_nt", "gradcam", "blocks"}


def test_noise_tunnel_with_almost_no_noise_is_plain_ig(images):
    model = make(7, depth=8)
    x, t = images[0][5:6], 4
    plain, _ = integrated_gradients(model, x, t, steps=16)
    smooth, _ = integrated_gradients(model, x, t, steps=16, noise=1e-6, samples=2)
    np.testing.assert_allclose(smooth, plain, rtol=1e-2, atol=1e-3 * np.abs(plain).max())
    noisy, _ = integrated_gradients(model, x, t, steps=16, noise=0.2, samples=2)
    assert not np.allclose(noisy, plain, atol=1e-3 * np.abs(plain).max())


def test_every_method_has_one_sentence():
    for k in ("saliency", "ig", "ig_nt", "gradcam", "blocks", "blocks_layer_ig"):
        assert DESCRIPTIONS[k].count(". ") == 0 and DESCRIPTIONS[k].endswith(".")


def test_noise_tunnel_is_reproducible_and_leaves_the_global_generator_alone(images):
    model = make(8, depth=8)
    x = images[0][:1]
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    a, _ = integrated_gradients(model, x, 0, steps=8, noise=0.1, samples=2)
    assert torch.equal(torch.rand(3), want)  # the caller's random stream is untouched
    b, _ = integrated_gradients(model, x, 0, steps=8, noise=0.1, samples=2)
    np.testing.assert_array_equal(a, b)


def test_at_few_steps_the_gate_shares_miss_the_gap_and_the_caption_says_so(images):
    """IG over the branch gates is complete only in the limit of many steps: at 8 steps the shares of this image
    miss score(all branches) - score(none) by more than half of it, so a caption may not say they add up to it."""
    from viz.charts.inspect import importance

    model = make(0, depth=8)
    x, t = images[0][0:1], 0
    n = len(model.blocks)
    gap = gated_score(model, x, t, [1.0] * n) - gated_score(model, x, t, [0.0] * n)  # the oracle, by hand
    att = attribute_all(model, x, t, 1, steps=8)
    total = float(att.blocks.importance.sum())
    assert abs(total - gap) > 0.5 * abs(gap), (total, gap)  # the case: far off at 8 steps ...
    limit = float(branch_gates(model, x, t, steps=256).importance.sum())
    assert abs(limit - gap) <= 0.05 * abs(gap), (limit, gap)  # ... and close in the limit
    fig, caption = importance(att, layer_ig=False)
    assert f"the bars sum to {total:.4g}, score gap {gap:.4g}; they differ by" in caption, caption
    assert "so the bars add up" not in caption and "only in the limit" in caption
    assert fig.layout.yaxis.title.text == "score change credited to the block"


def test_layer_ig_bars_need_not_add_up_and_the_caption_says_so(images):
    """Each block's LayerIG is complete for that block alone (see the swap test above): the bars' sum matches
    neither score(all branches) - score(none) nor score(image) - score(black) here."""
    from viz.charts.inspect import importance

    model = make(5, depth=8)
    x, t = images[0][4:5], 7
    n = len(model.blocks)
    gap = gated_score(model, x, t, [1.0] * n) - gated_score(model, x, t, [0.0] * n)
    att = attribute_all(model, x, t, 1, steps=32, layer_ig=True)
    total = float(att.blocks.importance.sum())
    black = score(model, x, t) - score(model, torch.zeros_like(x), t)
    assert abs(total - gap) > 0.5 * abs(gap) and abs(total - black) > 0.5 * abs(black), (total, gap, black)
    assert att.blocks.attrs["score_gap"] == pytest.approx(gap, rel=1e-4, abs=1e-5)
    _, caption = importance(att, layer_ig=True)
    assert f"the bars sum to {total:.4g}; score(network) - score(every branch removed) = {gap:.4g}" in caption
    assert "need not add up" in caption and "8 steps per block" in caption


def test_an_attribution_waits_while_every_measurement_slot_is_held(monkeypatch, images):
    """A held slot (another session's probe) makes an attribution wait for it: Captum runs count against the same
    limit as every other measurement."""
    import threading

    from viz.measures import common

    trying = threading.Event()

    class Slots(threading.BoundedSemaphore):
        def acquire(self, *args, **kw):
            if threading.current_thread().name == "attribution":
                trying.set()
            return super().acquire(*args, **kw)

    monkeypatch.setattr(common, "_slots", Slots(1))
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold():
        with common.measuring():
            held.set()
            release.wait(30)

    model, (xs, ys) = make(0, depth=8), images
    holder = threading.Thread(target=hold)
    worker = threading.Thread(target=lambda: (saliency(model, xs[:1], int(ys[0])), done.set()), name="attribution")
    holder.start()
    assert held.wait(30)
    worker.start()
    assert trying.wait(30), "the attribution did not ask for a measurement slot"
    assert not done.is_set()  # the only slot is held: it cannot have run
    release.set()
    holder.join(30)
    worker.join(30)
    assert done.is_set()
