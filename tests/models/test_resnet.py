import pytest
import torch

from models.resnet import MAX_DEPTH, ResNet, ResNetConfig, count_parameters


def model(**kw):
    torch.manual_seed(0)
    return ResNet(ResNetConfig(**kw))


@pytest.mark.parametrize("depth", [8, 20, 56, 110])
def test_shapes_of_every_part(depth):
    m = model(depth=depth)
    n = (depth - 2) // 6
    assert len(m.blocks) == 3 * n
    x = torch.rand(2, 3, 32, 32)
    h = m.features(x)
    assert h.shape == (2, 16, 32, 32)
    for i, b in enumerate(m.blocks):
        h = b(h)
        side, width = (32, 16) if i < n else (16, 32) if i < 2 * n else (8, 64)
        assert h.shape == (2, width, side, side), i
        assert b.stage == i // n
    assert m.head(h).shape == (2, 10)
    assert torch.allclose(m(x), m.head(h))


@pytest.mark.parametrize("depth,millions", [(20, 0.27), (56, 0.85), (110, 1.7)])
def test_parameter_counts_match_he_et_al(depth, millions):
    assert round(count_parameters(model(depth=depth)) / 1e6, 2 if depth < 110 else 1) == millions


@pytest.mark.parametrize(
    "kw,words",
    [
        (dict(depth=21), r"6n\+2"),
        (dict(depth=2), r"6n\+2"),
        (dict(depth=MAX_DEPTH + 6), "deepest"),
        (dict(depth="56"), "whole number"),
        (dict(depth=20.0), "whole number"),
        (dict(norm="layer"), "BatchNorm"),
        (dict(shortcut="C"), "projection"),
        (dict(activation="gelu"), "relu"),
        (dict(init="orthogonal"), "kaiming"),
        (dict(width=0), "positive"),
        (dict(num_classes=-1), "positive"),
        (dict(std=(0.2, 0.0, 0.2)), "positive"),
        (dict(mean=(0.5,)), "one value per input channel"),
    ],
)
def test_bad_configs_raise_a_sentence(kw, words):
    with pytest.raises(ValueError, match=words):
        ResNetConfig(**kw)


def test_skip_override_is_per_call_and_changes_only_that_call():
    m = model(depth=20).eval()
    x = torch.rand(4, 3, 32, 32)
    plain = model(depth=20, skip=False).eval()
    plain.load_state_dict(m.state_dict())
    n = len(m.blocks)
    with torch.no_grad():
        assert torch.allclose(m(x, skip=[False] * n), plain(x), atol=1e-6)
        assert torch.allclose(plain(x, skip=[True] * n), m(x), atol=1e-6)
        assert torch.equal(m(x, skip=[True] * n), m(x))
        assert not torch.allclose(m(x, skip=[True] * (n - 1) + [False]), m(x))
    assert m.config.skip and all(b.skip for b in m.blocks)  # nothing stuck


def test_drop_passes_the_shortcut_on():
    m = model(depth=20).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        h = m.features(x)
        b = m.blocks[3]  # the first block of stage 1: option-A shortcut subsamples and zero-pads
        h3 = torch.nn.Sequential(*m.blocks[:3])(h)
        out = b(h3, drop=True)
        assert torch.equal(out[:, :16], h3[:, :, ::2, ::2]) and torch.all(out[:, 16:] == 0)
        drop = [False] * len(m.blocks)
        drop[5] = True
        assert not torch.allclose(m(x, drop=drop), m(x))


def test_bad_override_lengths_raise():
    m = model(depth=20)
    with pytest.raises(ValueError, match="one value per block"):
        m(torch.rand(1, 3, 32, 32), skip=[True, False])


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_zero_initialised_branch_makes_a_block_the_identity(norm):
    m = model(depth=20, init="zero_residual", norm=norm).eval()
    x = torch.rand(3, 16, 32, 32)  # non-negative, as after a ReLU
    b = m.blocks[1]
    with torch.no_grad():
        assert torch.count_nonzero(b.branch(x)) == 0
        assert torch.equal(b(x), x)
    # the whole residual stack then only moves the stem's output through the shortcuts
    with torch.no_grad():
        inp = torch.rand(2, 3, 32, 32)
        drop_all = [True] * len(m.blocks)
        assert torch.allclose(m(inp), m(inp, drop=drop_all), atol=1e-6)


def test_model_normalizes_its_own_input():
    cfg = ResNetConfig(depth=8, mean=(0.5, 0.4, 0.3), std=(0.1, 0.2, 0.3))
    m = ResNet(cfg).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        stem = m.conv((x - torch.tensor(cfg.mean).view(1, 3, 1, 1)) / torch.tensor(cfg.std).view(1, 3, 1, 1))
        assert torch.allclose(m.features(x), m.act(m.bn(stem)))
    assert "mean" in m.state_dict() and "std" in m.state_dict()


def test_option_b_projects_where_the_shape_changes():
    m = model(depth=20, shortcut="B")
    projections = [b for b in m.blocks if not isinstance(b.shortcut, torch.nn.Identity)]
    assert len(projections) == 2
    assert all(isinstance(b.shortcut.conv, torch.nn.Conv2d) for b in projections)
    assert count_parameters(m) > count_parameters(model(depth=20))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_one_activation_module_per_use(activation):
    m = model(depth=8, activation=activation)
    acts = [mod for mod in m.modules() if isinstance(mod, (torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid))]
    assert len(acts) == 1 + 2 * len(m.blocks)
    assert len({id(a) for a in acts}) == len(acts)


def test_a_seed_gives_the_same_weights_whatever_other_threads_draw():
    from concurrent.futures import ThreadPoolExecutor

    cfg = ResNetConfig(depth=20)
    want = {s: ResNet(cfg, seed=s).state_dict() for s in range(4)}

    def build(s):
        torch.manual_seed(1000 + s)  # other sessions reseeding the global generator meanwhile
        torch.randn(100)
        return s, ResNet(cfg, seed=s).state_dict()

    with ThreadPoolExecutor(8) as pool:
        for s, got in pool.map(build, [0, 1, 2, 3] * 4):
            assert all(torch.equal(got[k], want[s][k]) for k in got)
    assert not torch.equal(want[0]["conv.weight"], want[1]["conv.weight"])
