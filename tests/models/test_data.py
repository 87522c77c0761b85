import time

import numpy as np
import pytest
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


# --- the shipped CIFAR-10 sample ---------------------------------------------------------------------


def test_the_shipped_sample_is_the_official_first_932_test_images():
    from models import data

    x, y = data.load_dataset("cifar10-sample", "test")
    assert x.shape == (932, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    with np.load(data.SAMPLE_PATH, allow_pickle=False) as z:  # numpy as the oracle for the loader
        assert np.array_equal(x.numpy(), z["images"]) and np.array_equal(y.numpy(), z["labels"])
    shared = data.SAMPLE_PATH.parents[2].parent / "shared" / "data" / data.SAMPLE_PATH.name
    if shared.is_file():  # the copy in the project is byte for byte the shared one
        assert shared.read_bytes() == data.SAMPLE_PATH.read_bytes()
    assert set(y.tolist()) == set(range(10)) and 0.05 < float(y.bincount().min()) / len(y)
    x[0] = 0  # fresh tensors: a caller's change does not reach the next caller
    assert not torch.equal(data.load_dataset("cifar10-sample", "test")[0][0], x[0])
    info = data.dataset_info("cifar10-sample")
    assert info.classes == data.CIFAR10_CLASSES and info.mean == data.CIFAR10_MEAN and data.on_disk("cifar10-sample")


def test_the_sample_has_no_train_split_and_refuses_a_changed_file(tmp_path, monkeypatch):
    from models import data
    from models.data import datasets

    with pytest.raises(ValueError, match="test sample"):
        data.load_dataset("cifar10-sample", "train")
    bad = tmp_path / "s.npz"
    blob = bytearray(data.SAMPLE_PATH.read_bytes())
    blob[-100] ^= 1
    bad.write_bytes(bytes(blob))
    monkeypatch.setattr(datasets, "SAMPLE_PATH", bad)  # where the sample is read (models/data/datasets.py)
    datasets._sample_arrays.cache_clear()
    try:
        with pytest.raises(ValueError, match="SHA-256"):
            data.load_dataset("cifar10-sample", "test")
    finally:
        datasets._sample_arrays.cache_clear()


def test_which_test_split_says_which_images_and_how_many(tmp_path):
    from models import data

    name, text = data.which_test_split("cifar10", root=tmp_path)  # nothing of CIFAR-10 here
    assert name == "cifar10-sample" and "932" in text and "shipped" in text
    assert data.which_test_split("cifar10-sample", root=tmp_path)[0] == "cifar10-sample"
    for c in data.CIFAR10_CLASSES:
        (tmp_path / data.CIFAR10_JPG_DIR / "train" / c).mkdir(parents=True)
    (tmp_path / data.CIFAR10_JPG_DIR / "test").mkdir()
    assert data.on_disk("cifar10", root=tmp_path)
    name, text = data.which_test_split("cifar10", root=tmp_path)
    assert name == "cifar10" and "10,000" in text and "JPEG" in text
    assert data.which_test_split("cifar10", root=tmp_path, exact_pixels=True)[0] == "cifar10-sample"  # JPEGs: no
    (tmp_path / data.CIFAR10_DIR).mkdir()
    (tmp_path / data.CIFAR10_DIR / "test_batch").write_bytes(b"")
    assert "official pixels" in data.which_test_split("cifar10", root=tmp_path)[1]
    assert data.which_test_split("cifar10", root=tmp_path, exact_pixels=True)[0] == "cifar10"
    name, text = data.which_test_split("shapes")
    assert name == "shapes" and f"{len(make_shapes('test')[1]):,} images" in text
