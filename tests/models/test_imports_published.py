"""The published checkpoints through the general import path (no special case): akamaster's four ResNets and the
four plain/residual twins of atreides-K/Basic-Image-Classification-ML. Each is read by structure, its reading
measured, and the result must compute the author's function: logits equal (1e-4) to the author's network written here
from the description in its README (never our ResNet), and the accuracy the README gives, within one point on the
932 exact test images. Skipped where ../shared/weights is not on the machine.

    python -m pytest tests/models/test_imports_published.py -q -s     (prints each file's reading and accuracies)
"""

import functools
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import imports, zoo
from models.data import load_dataset
from tests.models.test_imports import PeerResNet

pytestmark = pytest.mark.slow
SHARED = Path(__file__).resolve().parents[3] / "shared" / "weights"
TWINS = SHARED / "plain_and_residual_cifar10"
AKA = SHARED / "pytorch_resnet_cifar10"
TWIN_MEAN, TWIN_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
README_ACC = {"plain20": 0.910, "resnet20": 0.914, "plain56": 0.877, "resnet56": 0.937}  # their README, 932 images
AKA_ERROR = {20: 0.0827, 32: 0.0737, 44: 0.0690, 56: 0.0661}  # their README, official 10,000 test images


class TwinBlock(nn.Module):
    """conv1 -> bn1 -> ReLU -> conv2 -> bn2 (every conv with a bias); residual: ReLU(shortcut(x) + branch), the
    shortcut `F.pad(avg_pool2d(x, 2, 2), (0, 0, 0, 0, p, p))` where the shape changes; plain: ReLU(branch)."""

    def __init__(self, cin, cout, stride, residual):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout)
        self.residual, self.p = residual, (cout - cin) // 2

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if not self.residual:
            return F.relu(out)
        short = F.pad(F.avg_pool2d(x, 2, 2), (0, 0, 0, 0, self.p, self.p)) if self.p else x
        return F.relu(short + out)


class TwinNet(nn.Module):
    """conv0 (bias) -> bn0 -> ReLU, convs.{i} (3n blocks: widths 16, 32, 64), AvgPool2d(8), fc; input normalised
    with the CIFAR-10 mean and std (0.2023, 0.1994, 0.2010)."""

    def __init__(self, n, residual):
        super().__init__()
        self.conv0, self.bn0 = nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16)
        widths = [16] * n + [32] * n + [64] * n
        self.convs = nn.ModuleList(
            TwinBlock(cin, c, 2 if cin != c else 1, residual) for cin, c in zip([16, *widths], widths, strict=False)
        )
        self.fc = nn.Linear(64, 10)

    def forward(self, x):  # x: RGB in [0, 1]
        x = (x - torch.tensor(TWIN_MEAN).view(1, 3, 1, 1)) / torch.tensor(TWIN_STD).view(1, 3, 1, 1)
        h = F.relu(self.bn0(self.conv0(x)))
        for b in self.convs:
            h = b(h)
        return self.fc(F.avg_pool2d(h, 8).flatten(1))


@functools.cache
def sample():
    x, y = load_dataset("cifar10-sample", "test")
    return x.float() / 255, y


@functools.cache
def analysed(path):
    return imports.analyse(path.read_bytes(), path.name)


def check(path, reference, want_acc, name):
    a = analysed(path)
    x, y = sample()
    with torch.no_grad():
        ours, ref = a.model(x), reference(x)
    acc = float((ours.argmax(1) == y).float().mean())
    print(f"{path.name}: {a.sentence} On all {len(y)}: {acc:.2%} (README {want_acc:.1%}); "
          f"max |logit difference| {float((ours - ref).abs().max()):.1e}")
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    assert abs(acc - want_acc) <= 0.01, f"{path.name}: {acc:.2%}, the README gives {want_acc:.1%}"
    assert a.facts["origin"] == "published" and imports.default_name(a.model, a.facts) == name
    if name in set(zoo.list().name):  # the shipped copy is this network
        with torch.no_grad():
            torch.testing.assert_close(zoo.load(name)(x[:100]), ref[:100], atol=1e-4, rtol=1e-4)
    return a


@pytest.mark.parametrize("file", sorted(TWINS.glob("*.pth")) if TWINS.is_dir() else [], ids=lambda p: p.stem)
def test_twin_imports_as_the_author_network(file):
    kind, depth = file.stem.split("-")[0].rstrip("0123456789"), int(file.stem.split("-")[0][-2:])
    ref = TwinNet((depth - 2) // 6, kind == "resnet").eval()
    ref.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    a = check(file, ref, README_ACC[file.stem.split("-")[0]], f"cifar10-{kind}{depth}-dutta")
    cfg = a.model.config
    assert cfg.skip == (kind == "resnet") and cfg.std == TWIN_STD  # read, not told
    if cfg.skip:
        assert (cfg.pad, cfg.downsample) == ("both", "average")
    assert any("folded" in note for _, _, note in a.mapping)


@pytest.mark.parametrize("file", sorted(AKA.glob("*.th")) if AKA.is_dir() else [], ids=lambda p: p.stem)
def test_akamaster_imports_as_the_author_network(file):
    state = torch.load(file, map_location="cpu", weights_only=True)["state_dict"]
    depth = int(file.stem.split("-")[0].removeprefix("resnet"))
    ref = PeerResNet(((depth - 2) // 6,) * 3).eval()
    ref.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    a = check(file, ref, 1 - AKA_ERROR[depth], f"cifar10-resnet{depth}-published")
    cfg = a.model.config
    assert (cfg.skip, cfg.pad, cfg.downsample, cfg.std) == (True, "both", "subsample", (0.229, 0.224, 0.225))


def test_the_shipped_twins_show_he_et_al_degradation():
    """He et al. 2015's degradation on fully trained published weights, on the 932 exact test images: the deeper plain
    net is worse than the shallower one, the deeper residual net better; next to the README's numbers."""
    names = {k: f"cifar10-{k}-dutta" for k in README_ACC}
    if not set(names.values()) <= set(zoo.list().name):
        pytest.skip("the twins are not in the zoo (python -m models.zoo import FILE --zoo models/weights)")
    x, y = sample()
    acc = {}
    for k, name in names.items():
        with torch.no_grad():
            acc[k] = float((zoo.load(name)(x).argmax(1) == y).float().mean())
        assert acc[k] == pytest.approx(zoo.card(name)["sample_acc"], abs=1.5 / len(y))
    print(", ".join(f"{k}: {v:.2%} (README {README_ACC[k]:.1%})" for k, v in acc.items()))
    assert acc["plain56"] < acc["plain20"] and acc["resnet56"] > acc["resnet20"]


@pytest.mark.parametrize("name", ["cifar10-resnet20", "cifar10-plain20"])
def test_our_trained_pair_without_its_statistics_is_read_back(name):
    """The zoo's own CIFAR-10 pair (trained here: zero channels at the end, subsampling, CIFAR-10 std 0.247), saved as
    a bare state dict without `mean` / `std`: residual or plain, the shortcut and the normalisation are all read."""
    from models.resnet import CIFAR10_STD
    from tests.models.test_imports import _bytes_of

    net = zoo.load(name)
    data = _bytes_of({k: v for k, v in net.state_dict().items() if k not in ("mean", "std")})
    a = imports.analyse(data, f"{name}.pth")
    cfg = a.model.config
    print(f"{name}: {a.sentence}")
    assert cfg.skip == net.config.skip and cfg.std == CIFAR10_STD
    if cfg.skip:
        assert (cfg.pad, cfg.downsample) == ("end", "subsample")
    x = sample()[0][:64]
    with torch.no_grad():
        torch.testing.assert_close(a.model(x), net(x), atol=1e-4, rtol=1e-4)
