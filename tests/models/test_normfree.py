import json
from dataclasses import asdict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import normfree, zoo
from models.resnet import ResNet, ResNetConfig

SCHEMES = [dict(init="fixup", norm="none"), dict(init="skipinit", norm="none"), dict(init="rezero", norm="none"),
           dict(init="rezero", norm="batch"), dict(init="rezero", norm="none", block="preact"),
           dict(init="skipinit", norm="none", block="bottleneck")]


def build(depth=20, seed=0, **kw):
    return ResNet(ResNetConfig(depth=depth, **kw), seed=seed)


@pytest.mark.parametrize("kw", SCHEMES)
def test_at_init_every_shape_keeping_block_is_the_identity(kw):
    m = build(**kw).train()
    h = m.features(torch.rand(8, 3, 32, 32))
    kept = 0
    for b in m.blocks:
        out = b(h)
        if isinstance(b.shortcut, nn.Identity):
            assert torch.equal(out, h)
            kept += 1
        h = out
    assert kept == len(m.blocks) - 2  # all but the first block of stages 2 and 3


@pytest.mark.parametrize("kw", SCHEMES)
def test_every_learnable_scalar_receives_a_gradient(kw):
    """At init the alphas already get a gradient (ReZero's alpha: <F(x), dL/dout>). Fixup's zero classifier and zero
    last convs hold its scalars back until they have moved: each scalar is checked again after two SGD steps."""
    torch.manual_seed(0)
    m = build(**kw).train()
    x, y = torch.rand(16, 3, 32, 32), torch.randint(0, 10, (16,))
    scalars = [(n, p) for n, p in m.named_parameters() if p.ndim == 0]
    assert scalars
    if kw["init"] != "fixup":  # the alphas themselves, at init
        grads = torch.autograd.grad(F.cross_entropy(m(x), y), [p for _, p in scalars])
        assert all(float(g.abs()) > 0 for g in grads)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    grads = torch.autograd.grad(F.cross_entropy(m(x), y), [p for _, p in scalars])
    zero = [n for (n, _), g in zip(scalars, grads, strict=True) if float(g.abs()) == 0]
    assert not zero, zero


def test_fixup_initialisation_follows_the_paper():
    m = build(depth=20, init="fixup", norm="none")
    ref = build(depth=20, norm="none")  # the same Kaiming draws, before Fixup's rescaling
    L = len(m.blocks)
    for b, r in zip(m.blocks, ref.blocks, strict=True):
        assert torch.allclose(b.branch.conv1.weight, r.branch.conv1.weight * L ** -0.5)  # m = 2: L^(-1/(2m-2))
        assert b.branch.conv1.bias is None and not b.branch.conv2.weight.any()
        assert float(b.branch.scale.scale) == 1 and float(b.branch.bias2b.bias) == 0
    assert not m.fc.weight.any() and not m.fc.bias.any()
    names = [n for n, _ in m.blocks[0].branch.named_children()]
    assert names == ["bias1a", "conv1", "bn1", "bias1b", "act1", "bias2a", "conv2", "bn2", "scale", "bias2b"]


@pytest.mark.parametrize("kw, words", [
    (dict(init="fixup"), "norm='none'"),
    (dict(init="skipinit", norm="batch"), "without batch norm"),
    (dict(init="rezero", skip=False), "skip=True"),
    (dict(init="fixup", norm="none", block="preact"), "basic block"),
    (dict(init="rezero", block="dense"), "not 'dense'"),
])
def test_invalid_combinations_get_a_sentence(kw, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        ResNetConfig(**kw)


@pytest.mark.parametrize("kw", SCHEMES[:3])
def test_the_scheme_round_trips_through_the_zoo_card(kw, tmp_path):
    cfg = ResNetConfig(depth=8, **kw)
    card = json.loads(json.dumps({"config": asdict(cfg)}))
    assert zoo.config_from_card(card) == cfg
    m = ResNet(cfg, seed=1)
    with torch.no_grad():
        for p in m.parameters():
            if p.ndim == 0:
                p.add_(0.25)  # a trained value, not the init
    zoo.save(m, {"dataset": "shapes", "config": asdict(cfg)}, tmp_path, "shapes-rezero8")
    back = zoo.load_path(tmp_path / "shapes-rezero8.json")
    assert back.config == cfg and normfree.scalars(back) == normfree.scalars(m)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(back.eval()(x), m.eval()(x))
