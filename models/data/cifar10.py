"""CIFAR-10 from disk: the official python-format archive (download, checksum, extraction, a restricted unpickler)
or its ImageFolder copy."""

import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import torch

from models.data.common import data_root
from models.data.folders import load_image_folder

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"  # what the official archive extracts to
CIFAR10_JPG_DIR = "cifar10-jpg"  # the ImageFolder copy (train/<class>/*.jpg, test/<class>/*.jpg)

def _load_cifar10(split, root, download):
    for d in (root / CIFAR10_DIR, root):
        if (d / "test_batch").is_file():
            return _read_python_batches(d, split)
    for d in (root / CIFAR10_JPG_DIR, root):
        if (d / "train").is_dir() and (d / "test").is_dir():
            images, labels, classes, skipped = load_image_folder(d, split)
            if set(classes) != set(CIFAR10_CLASSES):
                raise ValueError(f"{d} does not hold the 10 CIFAR-10 classes: found {', '.join(classes)}.")
            if skipped:
                warnings.warn(f"{len(skipped)} unreadable image(s) skipped in {d}.", stacklevel=3)
            order = torch.tensor([CIFAR10_CLASSES.index(c) for c in classes])  # folder order -> official order
            return images, order[labels]
    archive = root / CIFAR10_ARCHIVE
    if not archive.is_file() and download:
        download_cifar10(root)
    if archive.is_file():
        if _md5(archive) != CIFAR10_MD5:
            raise ValueError(f"{archive} does not match the official CIFAR-10 checksum; delete it and download again.")
        extract_cifar10(archive, root)
        return _read_python_batches(root / CIFAR10_DIR, split)
    raise FileNotFoundError(
        f"CIFAR-10 not found in {root}. Either download it (load_dataset('cifar10', split, download=True) or "
        f"`python -m models.data --download`), or extract the ImageFolder copy there: "
        f"tar xzf cifar10-jpg.tar.gz -C {root}"
    )


def _md5(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def download_cifar10(root=None, url=CIFAR10_URL, md5=CIFAR10_MD5, progress=True) -> Path:
    """Download the official python-format archive into `root`, verify its MD5, extract it.

    A file whose checksum does not match is deleted and a ValueError raised; nothing is extracted.
    Returns the folder with the batches (`root/cifar-10-batches-py`).
    """
    from tqdm import tqdm

    root = Path(root) if root else data_root()
    root.mkdir(parents=True, exist_ok=True)
    dest, part = root / CIFAR10_ARCHIVE, root / (CIFAR10_ARCHIVE + ".part")
    h = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="cifar10", disable=not progress) as bar:
                while b := r.read(1 << 16):
                    f.write(b)
                    h.update(b)
                    bar.update(len(b))
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if h.hexdigest() != md5:
        part.unlink(missing_ok=True)
        raise ValueError(f"checksum mismatch for {url}: got MD5 {h.hexdigest()}, expected {md5}. The file was deleted.")
    os.replace(part, dest)
    return extract_cifar10(dest, root)


def extract_cifar10(archive, root) -> Path:
    """Extract only the `cifar-10-batches-py/` members, with tarfile's safe 'data' filter."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(CIFAR10_DIR + "/") and m.isfile()]
        if not any(m.name.endswith("test_batch") for m in members):
            raise ValueError(f"{archive} is not the CIFAR-10 python-format archive (no {CIFAR10_DIR}/test_batch).")
        tar.extractall(root, members=members, filter="data")
    return Path(root) / CIFAR10_DIR


class _BatchUnpickler(pickle.Unpickler):
    """The CIFAR batches are pickles; this loads plain data and numpy arrays only, never code."""

    ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    })

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a CIFAR-10 batch may not reference {module}.{name}; refusing to load it.")


def _read_batch(path):
    try:
        with open(path, "rb") as f:
            d = _BatchUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
        d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
        data = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(d["labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is not a readable CIFAR-10 batch ({e}).") from e
    if len(data) != len(labels) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError(f"{path} is not a valid CIFAR-10 batch (labels and images disagree).")
    return data, labels


def _read_python_batches(folder, split):
    files = sorted(folder.glob("data_batch_*")) if split == "train" else [folder / "test_batch"]
    if not files or not all(f.is_file() for f in files):
        raise FileNotFoundError(f"no CIFAR-10 {split} batches in {folder}.")
    parts = [_read_batch(f) for f in files]
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    return images, torch.from_numpy(np.concatenate([p[1] for p in parts]))
