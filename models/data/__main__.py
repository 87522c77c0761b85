"""`python -m models.data [--download] [--root DIR]`: fetch or check the CIFAR-10 data set."""

import argparse

from models.data.common import SPLITS, data_root
from models.data.datasets import load_dataset

ap = argparse.ArgumentParser(prog="python -m models.data", description="Fetch or check skiplab's data sets.")
ap.add_argument("--download", action="store_true", help="download the official CIFAR-10 archive")
ap.add_argument("--root", default=None, help=f"cache folder (default {data_root()})")
a = ap.parse_args()
for s in SPLITS:
    xs, ys = load_dataset("cifar10", s, root=a.root, download=a.download)
    print(f"cifar10 {s}: {tuple(xs.shape)} images, {len(set(ys.tolist()))} classes")
