"""The papers' findings on the shipped published networks (akamaster/pytorch_resnet_cifar10, trained by their author
for 200 epochs on the official CIFAR-10), measured on the shipped sample: the first 932 official test images, exact
pixels. Measured with viz.residuals, as the Residuals page does. A check is never bent to pass: if one fails, the
message has the numbers and the finding does not hold for these networks.

    python -m pytest tests/models/test_published_findings.py -q -s      (prints the numbers)
"""

import functools

import pytest

from models import zoo
from models.data import load_dataset
from viz.measures import residuals as R

pytestmark = pytest.mark.slow
DEPTHS = (20, 32, 44, 56)
N_LESION = 466  # half the sample for the 28 lesion settings of ResNet-56 (about 14 full passes): CI time


def published(depth):
    name = f"cifar10-resnet{depth}-published"
    if name not in set(zoo.list().name):
        pytest.skip(
            f"{name} is not in the zoo (import it: python -m models.zoo import resnet{depth}-*.th --zoo models/weights)"
        )
    return zoo.load(name)


@functools.cache
def sample():
    return load_dataset("cifar10-sample", "test")


@functools.cache
def responses(depth):
    m = published(depth)
    x, y = sample()
    b, layers = R.in_chunks(R.response_sums, m, x, y, size=233)
    return R.residual_table(b), R.response_table(layers)


def test_response_std_falls_with_depth():
    """He et al. 2015 Fig. 7: the deeper the ResNet, the smaller its layers' responses (20 > 32 > 44 > 56)."""
    std = {d: float(responses(d)[1].response_std.mean()) for d in DEPTHS}
    print("mean 3x3 response std on the sample: " + ", ".join(f"ResNet-{d} {v:.4f}" for d, v in std.items()))
    for a, b in zip(DEPTHS, DEPTHS[1:]):
        assert std[b] < std[a], (
            f"ResNet-{b}'s mean response std {std[b]:.4f} is not below ResNet-{a}'s {std[a]:.4f}: {std}"
        )


def test_residual_ratio_falls_with_depth():
    """The same in the residual's size: mean ||F(x)|| / ||x|| over the blocks falls 20 > 32 > 44 > 56."""
    ratio = {d: float(responses(d)[0].residual_ratio.mean()) for d in DEPTHS}
    print("mean ||F(x)||/||x|| on the sample: " + ", ".join(f"ResNet-{d} {v:.4f}" for d, v in ratio.items()))
    for a, b in zip(DEPTHS, DEPTHS[1:]):
        assert ratio[b] < ratio[a], (
            f"ResNet-{b}'s mean ratio {ratio[b]:.4f} is not below ResNet-{a}'s {ratio[a]:.4f}: {ratio}"
        )


def test_resnet56_survives_single_lesions_but_not_of_downsampling_blocks():
    """Veit et al. 2016 Fig. 3: deleting one block of a ResNet barely changes its error, except for the blocks that
    downsample. 'Small against' means: the median error rise over the non-downsampling blocks is under a quarter
    of the smallest rise from deleting a downsampling block."""
    m = published(56)
    x, y = (v[:N_LESION] for v in sample())
    t = R.lesion_table(R.in_chunks(R.setting_sums, m, x, y, R.single_lesions(len(m.blocks)), size=233), m)
    rise = 100 * (t.error - t.base_error)  # points
    down, other = rise[t.downsampling], rise[~t.downsampling]
    print(
        f"ResNet-56 on the {len(y)} sample images: intact error {100 * t.base_error.iloc[0]:.2f}%; deleting one "
        f"non-downsampling block: median rise {other.median():+.2f} points (max {other.max():+.2f}, "
        f"{len(other)} blocks); deleting a downsampling block (blocks {', '.join(map(str, t.block[t.downsampling]))}): "
        f"{', '.join(f'{v:+.2f}' for v in down)} points"
    )
    assert len(down) == 2 and len(other) == len(m.blocks) - 2
    assert other.median() < 0.25 * down.min(), (
        f"median rise {other.median():.2f} points for ordinary blocks against {down.min():.2f} for a downsampling block"
    )
