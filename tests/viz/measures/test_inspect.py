"""Per-block maps for one image, with a hook-free forward written out by hand as the oracle."""

import threading

import numpy as np
import pytest
import torch

from models.resnet import ResNet, ResNetConfig
from viz.measures.inspect import inspect, strongest_channels


def make(seed=0, **kw):
    torch.manual_seed(seed)
    m = ResNet(ResNetConfig(**{"depth": 14, **kw}))
    with torch.no_grad():  # BN statistics as after training, so eval mode is not the identity
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


def by_hand(model, x, skip, drop):
    """x -> (block inputs, F(x) or None, outputs, logits), no hooks: out = act(F(x) + shortcut(x))."""
    xs, fs, outs = [], [], []
    with torch.no_grad():
        h = model.features(x)
        for b, s, d in zip(model.blocks, skip, drop):
            xs.append(h)
            if d:
                fs.append(None)
                h = b.shortcut(h)
            else:
                f = b.branch(h)
                fs.append(f)
                h = b.act(f + b.shortcut(h)) if s else b.act(f)
            outs.append(h)
        return xs, fs, outs, model.head(h)


CASES = {
    "resnet": ({}, None, None),
    "skips off": ({}, [True, False, True, False, True, True], None),
    "branches removed": ({}, None, [False, True, False, False, True, False]),
    "plain": ({"skip": False}, None, None),
    "no norm, option B": ({"norm": "none", "shortcut": "B"}, [False, True, True, True, True, False], [True] + [False] * 5),
}


@pytest.mark.parametrize("case", CASES)
def test_maps_equal_the_hand_written_forward(case):
    kw, skip, drop = CASES[case]
    model = make(**kw)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ins = inspect(model, x, skip=skip, drop=drop)
    n = len(model.blocks)
    s = [model.config.skip] * n if skip is None else skip
    d = [False] * n if drop is None else drop
    xs, fs, outs, logits = by_hand(model, x, s, d)
    np.testing.assert_allclose(ins.logits, logits[0].numpy(), rtol=1e-5, atol=1e-5)
    for i in range(n):
        np.testing.assert_allclose(ins.x_maps[i], xs[i][0].mean(0).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ins.out_maps[i], outs[i][0].mean(0).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ins.outs[i], outs[i][0].numpy(), rtol=1e-5, atol=1e-6)
        row = ins.blocks.iloc[i]
        assert bool(row.dropped) == d[i] and bool(row.skip) == s[i]
        if fs[i] is None:
            assert not ins.f_maps[i].any() and row.residual_ratio == 0
        else:
            np.testing.assert_allclose(ins.f_maps[i], fs[i][0].mean(0).numpy(), rtol=1e-5, atol=1e-6)
            assert row.residual_ratio == pytest.approx(float(fs[i].norm() / xs[i].norm()), rel=1e-5)
            # the output map is act(x + F(x)) computed directly from the captured x
            b = model.blocks[i]
            xi = torch.from_numpy(ins.outs[i - 1] if i else xs[0][0].numpy())[None]
            with torch.no_grad():
                direct = b.act(b.branch(xi) + b.shortcut(xi)) if s[i] else b.act(b.branch(xi))
            np.testing.assert_allclose(ins.out_maps[i], direct[0].mean(0).numpy(), rtol=1e-5, atol=1e-6)


def test_top5_is_torch_topk_of_the_softmax():
    model = make(2)
    x = torch.rand(1, 3, 32, 32)
    ins = inspect(model, x, classes=[f"c{i}" for i in range(10)])
    with torch.no_grad():
        p = torch.softmax(model(x), 1)[0]
    v, i = torch.topk(p, 5)
    assert ins.top.cls.tolist() == i.tolist() and ins.top.label.tolist() == [f"c{j}" for j in i.tolist()]
    np.testing.assert_allclose(ins.top.prob, v.numpy(), rtol=1e-5)
    assert ins.probs.sum() == pytest.approx(1, abs=1e-5)


def test_the_model_is_never_touched():
    model = make(3).train()  # even a model in train mode: inspect runs a private eval-mode copy
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inspect(model, torch.rand(1, 3, 32, 32), skip=[False] * 6, drop=[True] + [False] * 5)
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_sessions_at_once_on_one_model():
    model = make(4)
    xs = [torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    alone = [inspect(model, x).out_maps for x in xs]
    got, errors = [None] * 4, []

    def run(k):
        try:
            for _ in range(3):
                got[k] = inspect(model, xs[k]).out_maps
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    for a, b in zip(alone, got):
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_strongest_channels_rank_by_mean_activation():
    out = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)
    out[5] += 3
    out[11] += 2
    table, maps = strongest_channels(out, k=4)
    want = np.argsort(-out.mean((1, 2)))[:4]
    assert table.channel.tolist() == want.tolist() and table.channel.tolist()[:2] == [5, 11]
    np.testing.assert_array_equal(maps, out[want])
    np.testing.assert_allclose(table["mean"], out[want].mean((1, 2)))


def test_bad_arguments_say_what_is_wrong():
    model = make(5)
    with pytest.raises(ValueError, match="one image"):
        inspect(model, torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="class names"):
        inspect(model, torch.rand(1, 3, 32, 32), classes=["a", "b"])
    with pytest.raises(ValueError, match="one value per block"):
        inspect(model, torch.rand(1, 3, 32, 32), skip=[True])


def test_the_original_image_view_says_the_yellow_box_only_when_there_is_one():
    import io

    from PIL import Image

    from models.uploads import Upload, decode_image
    from viz.charts.inspect import original
    from viz.measures.inspect import gallery

    x, y, classes = gallery("shapes", n=4)
    source = f"shapes test #3 (true class: {classes[y[3]]})"
    fig, caption = original(Upload.from_pixels(x[3], source=source))
    assert not fig.layout.shapes and "yellow" not in caption  # a gallery image is the whole frame: no box
    assert source in caption and "32 x 32" in caption  # the full source is in the caption ...
    assert len(fig.layout.title.text) <= 24, fig.layout.title.text  # ... the title stays short enough for its column
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(buf, "PNG")
    fig, caption = original(decode_image(buf.getvalue(), "wide.png"))
    assert len(fig.layout.shapes) == 1 and "yellow box" in caption and "80 x 48" in caption  # a cut-away: the box
    x0, y0, x1, y1 = (fig.layout.shapes[0][k] + 0.5 for k in ("x0", "y0", "x1", "y1"))
    assert x1 - x0 == y1 - y0 == 48 and x0 == 16  # the centred square
    assert caption.headline == "The model sees only the centred 48 x 48 square (60% of the width)."


def test_inspects_headlines_follow_the_numbers():
    """Each chart's one-sentence finding is computed from what it draws: change the numbers, the sentence follows."""
    import pandas as pd

    from models.data import SHAPES_CLASSES, make_shapes
    from viz.charts.inspect import ratios, top

    x, _ = make_shapes("test", n=1)
    ins = inspect(make(), x[0].float() / 255, SHAPES_CLASSES)
    t = ins.top
    said = f"Top class: {t.label[0]} ({t.prob[0]:.1%}); the next, {t.label[1]}, gets {t.prob[1]:.1%}."
    assert top(ins)[1].headline == said
    b = ins.blocks
    for r, said in ((0.5, "In every block F(x) is smaller than x: at most 0.50"),
                    (2.0, f"F(x) outweighs x in {len(b)} of {len(b)} blocks")):
        ins.blocks = b.assign(residual_ratio=pd.Series(r, index=b.index))
        assert ratios(ins)[1].headline.startswith(said), ratios(ins)[1].headline

