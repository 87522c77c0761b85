"""Data sets as in-memory tensors: images (N, 3, 32, 32) uint8, labels (N,) int64.

`shapes` is built in: procedural 32x32 RGB images, deterministic by (seed, split, index), so every
page works with no download. `cifar10-sample` is shipped: the first 932 official CIFAR-10 test images, exact
pixels (models/samples/), real images offline for every page that measures a CIFAR-10 network.

The package by job: datasets.py (data sets by name, the shipped sample), shapes.py (the built-in set), cifar10.py
(the official archive), folders.py (image folders), augment.py (training augmentation), common.py (splits, the cache
folder); `python -m models.data` fetches CIFAR-10. Everything other code uses is importable from `models.data`.
"""

from models.data.augment import augment
from models.data.cifar10 import (
    CIFAR10_ARCHIVE,
    CIFAR10_CLASSES,
    CIFAR10_DIR,
    CIFAR10_JPG_DIR,
    CIFAR10_MD5,
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR10_URL,
    download_cifar10,
    extract_cifar10,
)
from models.data.common import SPLITS, data_root
from models.data.datasets import (
    SAMPLE,
    SAMPLE_DESCRIPTION,
    SAMPLE_PATH,
    SAMPLE_SHA256,
    DatasetInfo,
    dataset_info,
    describe_split,
    load_dataset,
    load_sample,
    on_disk,
    subset,
    which_test_split,
)
from models.data.folders import DECODER_VERSION, HOLDOUT_EVERY, IMAGE_SUFFIXES, load_image_folder, offered_folders
from models.data.shapes import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_SIZES, SHAPES_STD, make_shapes

__all__ = [
    "CIFAR10_ARCHIVE", "CIFAR10_CLASSES", "CIFAR10_DIR", "CIFAR10_JPG_DIR", "CIFAR10_MD5", "CIFAR10_MEAN", "CIFAR10_STD",
    "CIFAR10_URL", "DECODER_VERSION", "HOLDOUT_EVERY", "IMAGE_SUFFIXES", "SAMPLE", "SAMPLE_DESCRIPTION", "SAMPLE_PATH",
    "SAMPLE_SHA256", "SHAPES_CLASSES", "SHAPES_MEAN", "SHAPES_SIZES", "SHAPES_STD", "SPLITS", "DatasetInfo", "augment",
    "data_root", "dataset_info", "describe_split", "download_cifar10", "extract_cifar10", "load_dataset",
    "load_image_folder", "load_sample", "offered_folders", "make_shapes", "on_disk", "subset", "which_test_split",
]
