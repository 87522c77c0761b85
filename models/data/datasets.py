"""Data sets by name (`shapes`, `cifar10-sample`, `cifar10`, a folder path): load one, say what it is and where its
test split comes from. The shipped sample lives in models/samples/."""

import functools
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.data.cifar10 import (
    CIFAR10_ARCHIVE,
    CIFAR10_CLASSES,
    CIFAR10_DIR,
    CIFAR10_JPG_DIR,
    CIFAR10_MEAN,
    CIFAR10_STD,
    _load_cifar10,
)
from models.data.common import _check_split, data_root
from models.data.folders import load_image_folder
from models.data.shapes import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_SIZES, SHAPES_STD, make_shapes

SAMPLE = "cifar10-sample"
SAMPLE_PATH = Path(__file__).resolve().parents[1] / "samples" / "cifar10-test-first932.npz"
SAMPLE_SHA256 = "ad6f14c14dde611562b0262eca11fd5823866283268d09f2b4039769236605fd"
SAMPLE_DESCRIPTION = "the first 932 official CIFAR-10 test images (shipped)"



@dataclass(frozen=True)
class DatasetInfo:
    name: str
    classes: tuple
    mean: tuple
    std: tuple


def load_dataset(name, split="train", root=None, download=False):
    """A whole data split in memory.

    Args:
        name: "shapes", "cifar10", "cifar10-sample" (test only), or the path of an ImageFolder (`train/<class>/*`, `test/<class>/*`,
            or just `<class>/*`, then every 5th image of each class, in file-name order, is test).
        split: "train" or "test".
        root: where cifar10 lives (default: `data_root()`): a folder holding `cifar-10-batches-py/`,
            `cifar10-jpg/`, `cifar-10-python.tar.gz`, or itself one of those layouts.
        download: fetch the official cifar10 archive (checksum-verified) when nothing local is found.
    Returns:
        images (N, 3, 32, 32) uint8, labels (N,) int64.
    """
    _check_split(split)
    if name == "shapes":
        return make_shapes(split)
    if name == SAMPLE:
        return load_sample(split)
    if name == "cifar10":
        return _load_cifar10(split, Path(root) if root else data_root(), download)
    path = Path(str(name)).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"unknown data set {name!r}: use 'shapes', 'cifar10', 'cifar10-sample', or the path of an image folder with one "
            "sub-folder per class."
        )
    images, labels, _, skipped = load_image_folder(path, split)
    if skipped:
        warnings.warn(f"{len(skipped)} unreadable image(s) skipped in {path}: {', '.join(map(str, skipped[:5]))}", stacklevel=2)
    return images, labels


def subset(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """Indices (k,) of a random subset of range(n), drawn with `seed`, in increasing order: k images of a split
    that loads in class order (a folder, the CIFAR-10 JPEG copy) without taking only its first classes."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def on_disk(name, root=None) -> bool:
    """Whether `load_dataset(name, ...)` can read the data set without a download: always for shapes; for cifar10
    when one of its local layouts is in `root` (default `data_root()`); for a folder when it exists. Cheap (no reading)."""
    if name == "shapes":
        return True
    if name == SAMPLE:
        return SAMPLE_PATH.is_file()
    if name == "cifar10":
        return _cifar10_layout(Path(root) if root else data_root()) is not None
    return Path(str(name)).expanduser().is_dir()


def _cifar10_layout(root):
    """Which local copy `load_dataset("cifar10")` reads, in its order: "batches", "jpg", "archive", or None."""
    if any((d / "test_batch").is_file() for d in (root / CIFAR10_DIR, root)):
        return "batches"
    if any((d / "train").is_dir() and (d / "test").is_dir() for d in (root / CIFAR10_JPG_DIR, root)):
        return "jpg"
    return "archive" if (root / CIFAR10_ARCHIVE).is_file() else None


def describe_split(name, split="test", root=None) -> str:
    """What `load_dataset(name, split)` holds, in words for a caption, e.g. "the full CIFAR-10 test split, 10,000
    images (the JPEG re-encoded copy)". Cheap (no reading)."""
    _check_split(split)
    if name == "shapes":
        return f"the shapes {split} split, {SHAPES_SIZES[split]:,} images (built in)"
    if name == SAMPLE:
        return SAMPLE_DESCRIPTION
    if name == "cifar10":
        n = "10,000" if split == "test" else "50,000"
        copy = {"jpg": "the JPEG re-encoded copy, not the official pixels", None: "not on this machine"}.get(
            _cifar10_layout(Path(root) if root else data_root()), "official pixels")
        return f"the full CIFAR-10 {split} split, {n} images ({copy})"
    return f"the {split} images of the folder {Path(str(name)).name}"


def which_test_split(dataset_name, root=None, exact_pixels=False) -> tuple[str, str]:
    """The test images a page should measure a model of `dataset_name` on, and how to say so: for CIFAR-10 (or
    the sample) the full test split when it is on this machine, else the shipped sample. exact_pixels=True (for a
    network trained on the official pixels, e.g. a published one, which loses about 10 points on the JPEG copy):
    the JPEG copy does not count, only the official batches or archive.

    Returns:
        (name for `load_dataset`, description), e.g. ("cifar10-sample", "the first 932 official CIFAR-10 test
        images (shipped)") or ("cifar10", "the full CIFAR-10 test split, 10,000 images (...)").
    """
    if dataset_name in ("cifar10", SAMPLE):
        layout = _cifar10_layout(Path(root) if root else data_root())
        name = "cifar10" if layout and not (exact_pixels and layout == "jpg") else SAMPLE
        return name, describe_split(name, "test", root)
    return dataset_name, describe_split(dataset_name, "test", root)


def dataset_info(name, root=None) -> DatasetInfo:
    """Class names and per-channel mean/std (of the train split) of a data set."""
    if name == "shapes":
        return DatasetInfo("shapes", SHAPES_CLASSES, SHAPES_MEAN, SHAPES_STD)
    if name == "cifar10":
        return DatasetInfo("cifar10", CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD)
    if name == SAMPLE:  # a part of CIFAR-10's test split: CIFAR-10's classes and (train split) statistics
        return DatasetInfo(SAMPLE, CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD)
    path = Path(str(name)).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"unknown data set {name!r}: use 'shapes', 'cifar10', or an image folder path.")
    images, _, classes, _ = load_image_folder(path, "train")
    x = images.float() / 255
    mean = tuple(round(float(m), 4) for m in x.mean((0, 2, 3)))
    std = tuple(round(max(float(s), 1e-3), 4) for s in x.std((0, 2, 3)))
    return DatasetInfo(path.name, tuple(classes), mean, std)


# --- CIFAR-10 ---------------------------------------------------------------------------------


def load_sample(split="test"):
    """The shipped CIFAR-10 sample: the first 932 official test images, exact pixels, official order.

    Returns:
        images (932, 3, 32, 32) uint8, labels (932,) int64 (0 airplane ... 9 truck), fresh tensors.
    Raises:
        ValueError for the train split (it is a test sample) or a file that is not the shipped one.
    """
    _check_split(split)
    if split != "test":
        raise ValueError(f"{SAMPLE} is a test sample (the first 932 official CIFAR-10 test images): it has no train "
                         "split; train on 'cifar10' or 'shapes'.")
    images, labels = _sample_arrays()
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


@functools.cache
def _sample_arrays():
    if not SAMPLE_PATH.is_file():
        raise FileNotFoundError(f"the shipped CIFAR-10 sample {SAMPLE_PATH} is missing; restore it from the repository.")
    blob = SAMPLE_PATH.read_bytes()
    if hashlib.sha256(blob).hexdigest() != SAMPLE_SHA256:
        raise ValueError(f"{SAMPLE_PATH.name} is not the shipped CIFAR-10 sample (its SHA-256 differs); restore it.")
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return np.asarray(z["images"], dtype=np.uint8), np.asarray(z["labels"], dtype=np.int64)
