"""Option A's new config choices (models/blocks.py ShortcutA, ResNetConfig.pad / .downsample) against a reference
written here from the published code they mirror: akamaster's `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))` and the
2x2-average shortcut `F.pad(F.avg_pool2d(x, 2, 2), (0, 0, 0, 0, p, p))`."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.blocks import shortcut_vjp
from models.resnet import ResNet, ResNetConfig


def reference_shortcut(x, cout, pad, downsample):
    """(B, Cin, H, W) -> (B, Cout, H/2, W/2), written from the descriptions, not from models/blocks.py."""
    z = F.avg_pool2d(x, 2, 2) if downsample == "average" else x[:, :, ::2, ::2]
    extra = cout - x.shape[1]
    lo = extra // 2 if pad == "both" else 0
    return torch.cat([z.new_zeros(z.shape[0], lo, *z.shape[2:]), z, z.new_zeros(z.shape[0], extra - lo, *z.shape[2:])], 1)


class ReferenceNet(nn.Module):
    """A CIFAR ResNet of basic blocks written independently: conv-BN-ReLU stem, blocks ReLU(branch + shortcut)."""

    def __init__(self, n, pad, downsample, skip=True):
        super().__init__()
        self.pad, self.downsample, self.skip = pad, downsample, skip
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        self.blocks, cin = nn.ModuleList(), 16
        for stage, c in enumerate((16, 32, 64)):
            for i in range(n):
                stride = 2 if stage and i == 0 else 1
                self.blocks.append(nn.Sequential(
                    nn.Conv2d(cin, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                    nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)))
                cin = c
        self.fc = nn.Linear(64, 10)

    def forward(self, x, mean, std):
        h = F.relu(self.stem((x - mean) / std))
        for b in self.blocks:
            f = b(h)
            s = h if f.shape == h.shape else reference_shortcut(h, f.shape[1], self.pad, self.downsample)
            h = F.relu(f + s) if self.skip else F.relu(f)
        return self.fc(h.mean((2, 3)))


def _randomise(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                for t, (lo, hi) in ((m.weight, (0.5, 1.5)), (m.bias, (-0.2, 0.2)), (m.running_mean, (-0.2, 0.2)),
                                    (m.running_var, (0.5, 1.5))):
                    t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)
    return net.eval()


@pytest.mark.parametrize("pad", ["end", "both"])
@pytest.mark.parametrize("downsample", ["subsample", "average"])
def test_resnet_computes_the_reference_with_each_option_a(pad, downsample):
    torch.manual_seed(0)
    ref = _randomise(ReferenceNet(2, pad, downsample), 1)
    cfg = ResNetConfig(depth=14, pad=pad, downsample=downsample)
    ours = ResNet(cfg).eval()
    names = [k for k in ours.state_dict() if k not in ("mean", "std")]
    ours.load_state_dict(ours.state_dict() | dict(zip(names, ref.state_dict().values(), strict=True)))
    x = torch.rand(8, 3, 32, 32)
    mean, std = ours.mean, ours.std
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x, mean, std), atol=1e-5, rtol=1e-5)
        other = "both" if pad == "end" else "end"
        wrong = ResNet(ResNetConfig(depth=14, pad=other, downsample=downsample)).eval()
        wrong.load_state_dict(ours.state_dict())
        assert (wrong(x) - ref(x, mean, std)).abs().max() > 1e-3  # the choice matters


@pytest.mark.parametrize("pad, downsample", [("both", "subsample"), ("end", "average"), ("both", "average")])
def test_shortcut_vjp_is_the_adjoint(pad, downsample):
    block = ResNet(ResNetConfig(depth=8, pad=pad, downsample=downsample)).blocks[1]
    x = torch.randn(2, 16, 32, 32, requires_grad=True)
    g = torch.randn(2, 32, 16, 16)
    (want,) = torch.autograd.grad(block.shortcut(x), x, grad_outputs=g)
    torch.testing.assert_close(shortcut_vjp(block.shortcut, x.detach(), g), want)


def test_bad_choices_are_refused_in_a_sentence():
    with pytest.raises(ValueError, match="pad must be 'end' or 'both'"):
        ResNetConfig(pad="middle")
    with pytest.raises(ValueError, match="downsample must be 'subsample' or 'average'"):
        ResNetConfig(downsample="max")
    assert ResNetConfig().pad == "end" and ResNetConfig().downsample == "subsample"  # today's behaviour by default
