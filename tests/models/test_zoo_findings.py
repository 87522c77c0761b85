"""The papers' findings, checked on the shipped zoo (issue 5). A model that is not in the zoo skips its check with
the reason. If a check fails, the numbers are in the message: the finding does not hold for our zoo, and the
check is not to be bent to pass: a check that fails on the shipped zoo is marked xfail(strict=True) with its
measured numbers, so it still runs, and a zoo that comes to agree with the paper turns it into a failure to update.

    python -m pytest tests/test_zoo_findings.py -q -rs      (prints the numbers of each check with -s)
"""

import functools

import pytest

from models import zoo
from models.data import load_dataset
from viz.measures import residuals as R

pytestmark = pytest.mark.slow
N_TEST = 500  # test images for residual sizes and response std
N_LESION = 200  # test images for the lesion sweeps


def shipped(name):
    names = set(zoo.list().name)
    if name not in names:
        pytest.skip(f"{name} is not in the zoo yet (have: {', '.join(sorted(names)) or 'none'})")
    return zoo.load(name)


@functools.cache
def images(n):
    x, y = load_dataset("shapes", "test")
    return x[:n], y[:n]


@functools.cache
def responses(name):
    m = shipped(name)
    x, y = images(N_TEST)
    b, lay = R.in_chunks(R.response_sums, m, x, y, size=250)
    return R.residual_table(b), R.response_table(lay)


@functools.cache
def single_lesions(name):
    m = shipped(name)
    x, y = images(N_LESION)
    return R.lesion_table(R.in_chunks(R.setting_sums, m, x, y, R.single_lesions(len(m.blocks)), size=200), m)


@pytest.mark.parametrize("shallow, deep", [(20, 56), (56, 110)])
def test_deeper_resnet_has_smaller_residuals(shallow, deep):
    """He et al. Fig. 7: ResNet-20 > 56 > 110 in mean residual size."""
    rs = float(responses(f"shapes-resnet{shallow}")[0].residual_ratio.mean())
    rd = float(responses(f"shapes-resnet{deep}")[0].residual_ratio.mean())
    print(f"mean ||F(x)||/||x||: ResNet-{shallow} {rs:.4f}, ResNet-{deep} {rd:.4f}")
    assert rd < rs, f"ResNet-{deep}'s mean residual ratio {rd:.4f} is not below ResNet-{shallow}'s {rs:.4f}"


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_resnet_responds_less_than_plain(depth):
    res = float(responses(f"shapes-resnet{depth}")[1].response_std.mean())
    plain = float(responses(f"shapes-plain{depth}")[1].response_std.mean())
    print(f"mean 3x3 response std at depth {depth}: ResNet {res:.4f}, plain {plain:.4f}")
    assert res < plain, f"ResNet-{depth}'s mean response std {res:.4f} is not below plain-{depth}'s {plain:.4f}"


@pytest.mark.parametrize("depth", [pytest.param(56, marks=pytest.mark.xfail(strict=True, reason=(
    "does not hold for our zoo: shapes-plain56 never trained (13.1% test accuracy, chance is 10%), so deleting one of "
    "its blocks cannot raise its error much: measured +2.2 points for plain-56 against +2.8 for ResNet-56 (200 images)"))),
    pytest.param(110, marks=pytest.mark.xfail(strict=True, reason=(
        "does not hold for our zoo: shapes-plain110 never trained (9.85% test accuracy, chance), so no deletion can "
        "raise its error: +0.0 points for plain-110 (90% error before and after) against +1.7 for ResNet-110, whose "
        "median error after a deletion is 1.5% (200 images), Veit et al.'s finding for the ResNet itself")))])
def test_single_lesions_hurt_resnet_far_less_than_plain(depth):
    """'Far less': the mean rise in error over all single-block deletions is under half the plain net's."""
    res, plain = single_lesions(f"shapes-resnet{depth}"), single_lesions(f"shapes-plain{depth}")
    rise_res = float((res.error - res.base_error).mean())
    rise_plain = float((plain.error - plain.base_error).mean())
    print(f"depth {depth}: mean error rise after deleting one block: ResNet {100 * rise_res:.1f} points "
          f"(median error {100 * res.error.median():.1f}%), plain {100 * rise_plain:.1f} points "
          f"(median error {100 * plain.error.median():.1f}%)")
    assert rise_res < 0.5 * rise_plain, (
        f"ResNet-{depth}: +{100 * rise_res:.1f} points, plain-{depth}: +{100 * rise_plain:.1f} points")


@pytest.mark.parametrize("depth", [56, pytest.param(20, marks=pytest.mark.xfail(strict=True, reason=(
    "does not hold for our zoo: shapes-resnet20's path gradient grows by about 1.26x per extra branch "
    "(mean 2.7e-6 at k=0, 2.4e-5 at k=9); Veit et al.'s ResNet-110 and our ResNet-56 (0.42x) fall"))), 110])
def test_gradient_falls_with_path_length(depth):
    """Veit Fig. 6b: the gradient along a path of k branches falls as k grows (a log-linear fit over k, with
    100 draws per k on 2 test images, k spaced over 0..n)."""
    m = shipped(f"shapes-resnet{depth}")
    n = len(m.blocks)
    x, y = images(2)
    ks = list(range(0, n + 1, max(1, n // 6)))
    t = R.path_table(R.path_gradient_sums(m, x, y, ks, samples=100, seed=0), n)
    span = R.path_span(t)
    print(f"ResNet-{depth}: mean path gradient by k {dict(zip(t.k, t.mean_grad.round(10)))}; "
          f"factor per extra branch {span['per_block']:.3f}")
    assert span["per_block"] < 1, (f"ResNet-{depth}: the path gradient grows by {span['per_block']:.3f} per extra branch; "
                                   f"means by k: {dict(zip(t.k, t.mean_grad))}")


def final(name):
    """The shipped card's last epoch: test accuracy, train error (%), test error (%)."""
    shipped(name)
    c = zoo.card(name)
    h = c["history"][-1]
    return c["test_acc"], 100 * (1 - h["train_acc"]), 100 * (1 - h["test_acc"])


@pytest.mark.parametrize("depth", [20, 56])
def test_cifar10_resnets_reach_the_goal(depth):
    """Issue 3's goal: ResNet-20 and ResNet-56 at 85% or better on the CIFAR-10 test split (He et al.: 91.25% and
    93.03% after 164 epochs; ours get the shipped recipe's 15)."""
    acc, _, _ = final(f"cifar10-resnet{depth}")
    print(f"cifar10-resnet{depth}: {acc:.2%} test accuracy")
    assert acc >= 0.85, f"cifar10-resnet{depth} reaches {acc:.2%} on the CIFAR-10 test split, under the 85% goal"


def train_errors(dataset):
    return {f"{k}-{d}": final(f"{dataset}-{k.lower()}{d}")[1] for k, d in (("plain", 20), ("plain", 56), ("ResNet", 20), ("ResNet", 56))}


@pytest.mark.parametrize("dataset", ["shapes", "cifar10"])
def test_deeper_plain_net_trains_worse(dataset):
    """He et al. Fig. 6, left: plain-56 ends with a higher training error than plain-20 (degradation)."""
    e = train_errors(dataset)
    print(f"{dataset} final train error (%): " + ", ".join(f"{k} {v:.2f}" for k, v in e.items()))
    assert e["plain-56"] > e["plain-20"], f"{dataset}: plain-56 trains to {e['plain-56']:.2f}% error, plain-20 to {e['plain-20']:.2f}%"


@pytest.mark.parametrize("dataset", [pytest.param("shapes", marks=pytest.mark.xfail(strict=True, reason=(
    "does not hold for our zoo: on shapes both ResNets train to almost no error, ResNet-56 to 0.53% and ResNet-20 "
    "to 0.20% (last epoch, augmented batches): the task saturates before depth can help"))), "cifar10"])
def test_deeper_resnet_trains_better(dataset):
    """He et al. Fig. 6, right: with skips the deeper net reaches the lower training error (ResNet-56 < ResNet-20)."""
    e = train_errors(dataset)
    print(f"{dataset} final train error (%): " + ", ".join(f"{k} {v:.2f}" for k, v in e.items()))
    assert e["ResNet-56"] < e["ResNet-20"], f"{dataset}: ResNet-56 trains to {e['ResNet-56']:.2f}% error, ResNet-20 to {e['ResNet-20']:.2f}%"


@pytest.mark.parametrize("dataset, depth", [("shapes", 20), ("shapes", 56), ("cifar10", 20), ("cifar10", 56)])
def test_resnet_trains_better_than_its_plain_twin(dataset, depth):
    """He et al. Fig. 6 / Table 6: with the same recipe, the residual net ends with the lower training error."""
    res, plain = final(f"{dataset}-resnet{depth}")[1], final(f"{dataset}-plain{depth}")[1]
    print(f"{dataset} depth {depth} final train error: ResNet {res:.2f}%, plain {plain:.2f}%")
    assert res < plain, f"{dataset} depth {depth}: ResNet trains to {res:.2f}% error, plain to {plain:.2f}%"
