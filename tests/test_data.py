import time

import torch

from models.data import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_STD, make_shapes


def test_shapes_are_deterministic_by_seed_and_index():
    a, la = make_shapes("train", n=50, seed=3)
    b, lb = make_shapes("train", n=20, seed=3, start=30)
    assert torch.equal(a[30:], b) and torch.equal(la[30:], lb)
    c, _ = make_shapes("train", n=50, seed=4)
    assert not torch.equal(a, c)
    t, _ = make_shapes("test", n=50, seed=3)
    assert not torch.equal(a, t)  # the splits differ


def test_shapes_format_and_balance():
    x, y = make_shapes("test", n=200)
    assert x.shape == (200, 3, 32, 32) and x.dtype == torch.uint8
    assert len(SHAPES_CLASSES) >= 8
    assert torch.bincount(y).tolist() == [20] * len(SHAPES_CLASSES)


def test_ten_thousand_images_in_a_few_seconds_and_the_stated_statistics():
    t = time.perf_counter()
    x, _ = make_shapes("train")
    seconds = time.perf_counter() - t
    assert len(x) == 10_000 and seconds < 20  # generous: a shared 2-core machine; typically ~2 s
    f = x.float() / 255
    assert torch.allclose(f.mean((0, 2, 3)), torch.tensor(SHAPES_MEAN), atol=0.005)
    assert torch.allclose(f.std((0, 2, 3)), torch.tensor(SHAPES_STD), atol=0.005)


def test_colour_alone_does_not_give_the_class():
    """A nearest-centroid classifier on mean colour must be near chance (10%)."""
    x, y = make_shapes("train", n=4000)
    colour = x.float().mean((2, 3))  # (N, 3)
    tr, te = slice(0, 3000), slice(3000, None)
    cents = torch.stack([colour[tr][y[tr] == k].mean(0) for k in range(len(SHAPES_CLASSES))])
    pred = torch.cdist(colour[te], cents).argmin(1)
    acc = (pred == y[te]).float().mean().item()
    assert acc < 0.2, acc
