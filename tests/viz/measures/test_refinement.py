import pytest
import torch
import torch.nn.functional as F

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.charts.refinement import finding, refinement_chart
from viz.measures.refinement import main, refinement, summary


def trained_like(depth=14, skip=True, seed=0):
    """A ResNet with BN running statistics and gammas that are not the init's, so eval mode is not trivial."""
    m = ResNet(ResNetConfig(depth=depth, skip=skip, mean=SHAPES_MEAN, std=SHAPES_STD), seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2, generator=g)
                mod.running_var.uniform_(0.5, 2.0, generator=g)
                mod.weight.uniform_(0.2, 1.0, generator=g)
    return m.eval()


def reference(model, x, y):
    """Per block: mean cos(F_i(h_i), -dL/dh_i) straight from torch.autograd.grad, and the readout loss from the model
    itself with every later branch dropped."""
    n = len(model.blocks)
    h, ins, fxs, moves = model.features(x), [], [], []
    for b in model.blocks:
        ins.append(h)
        fx = b.branch(h)
        fxs.append(fx)
        out = b.act(fx + b.shortcut(h)) if b.skip else b.act(fx)
        moves.append(out - h if out.shape == h.shape else None)
        h = out
    loss = F.cross_entropy(model.head(h), y)
    grads = torch.autograd.grad(loss, ins)
    def cos(d, g):
        return float(F.cosine_similarity(d.flatten(1), -g.flatten(1), dim=1).mean().detach()) if d.shape == g.shape else None

    cosines = [(cos(f, g), cos(mv, g) if mv is not None else None,
                float(F.cosine_similarity(f.flatten(), -g.flatten(), dim=0).detach()) if f.shape == g.shape else None)
               for f, mv, g in zip(fxs, moves, grads, strict=True)]
    with torch.no_grad():
        readout = [float(F.cross_entropy(model(x, drop=[j > i for j in range(n)]), y)) for i in range(-1, n)]
    return cosines, readout


@pytest.mark.parametrize("skip", [True, False])
def test_cosines_and_readout_losses_equal_autograd_and_the_lesioned_model(skip):
    m = trained_like(skip=skip)
    x, y = make_shapes("test", n=24, seed=3)
    x = x.float() / 255
    before = {k: v.clone() for k, v in m.state_dict().items()}
    t = refinement(m, x, y, size=10)  # chunks of 10, 10 and 4 images
    cos, readout = reference(m, x, y)
    assert list(t.block) == list(range(-1, len(m.blocks)))
    for i, (c, step, whole) in enumerate(cos):
        row = t[t.block == i].iloc[0]
        if c is None:
            assert not row.same_shape and row.cosine != row.cosine and row.step_cosine != row.step_cosine
        else:
            assert row.same_shape and row.cosine == pytest.approx(c, abs=1e-5)
            assert row.step_cosine == pytest.approx(step, abs=1e-5)
            assert row.batch_cosine == pytest.approx(whole, abs=1e-5)
    assert t.readout_loss.tolist() == pytest.approx(readout, rel=1e-5)
    with torch.no_grad():
        assert t.readout_loss.iloc[-1] == pytest.approx(float(F.cross_entropy(m(x), y)), rel=1e-5)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items()) and not m.training
    s = summary(t)
    assert s["measured"] == len(m.blocks) - 2 and 0 <= s["positive"] <= s["measured"]
    assert s["positive"] == sum(c > 0 for c, *_ in cos if c is not None)
    fig, cap = refinement_chart({"net": t}, {"net": s})
    assert cap.headline == finding("net", s) and "Jastrzebski et al." in cap


def test_cli_prints_the_table_and_the_finding(capsys):
    main(["--model", "cifar10-resnet20-published", "--images", "40"])
    out = capsys.readouterr().out
    assert "cosine" in out and "readout_loss" in out and "of 7 blocks (with the input's shape)" in out
