"""Data sets as in-memory tensors: images (N, 3, 32, 32) uint8, labels (N,) int64.

`shapes` is built in: procedural 32x32 RGB images, deterministic by (seed, split, index), so every
page works with no download. `cifar10-sample` is shipped: the first 932 official CIFAR-10 test images, exact
pixels (models/samples/), real images offline for every page that measures a CIFAR-10 network.
"""

import functools
import hashlib
import io
import math
import os
import pickle
import tarfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import uploads

SHAPES_CLASSES = ("disc", "ring", "square", "frame", "triangle", "cross", "bar", "stripes", "checkers", "spots")
SHAPES_SIZES = {"train": 10_000, "test": 2_000}
# Per-channel statistics of the shapes train split (tests/test_data.py re-measures them).
SHAPES_MEAN = (0.4905, 0.4942, 0.4908)
SHAPES_STD = (0.2988, 0.3005, 0.2989)

_SPLIT_SALT = {"train": 0x5EED_0001, "test": 0x5EED_0002}
_N_PARAMS = 24  # random numbers drawn per image
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _uniform(seed, split, index, n_params):
    """Counter-based uniforms in [0, 1): (N, n_params), a pure function of (seed, split, index)."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed * 0x9E3779B97F4A7C15 + _SPLIT_SALT[split] & 0xFFFFFFFFFFFFFFFF)
        z = index.astype(np.uint64)[:, None] * np.uint64(n_params) + np.arange(n_params, dtype=np.uint64)
        z = z + key
        # splitmix64 finaliser
        z = (z + np.uint64(0x9E3779B97F4A7C15)) & _M64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M64
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _masks(label, u, v, r, p):
    """Foreground masks (N, 32, 32) for one class; u, v are rotated, centred pixel coordinates."""
    rad, box = np.hypot(u, v), np.maximum(abs(u), abs(v))
    patch = box < r
    shape = {
        "disc": lambda: rad < r,
        "ring": lambda: (rad < r) & (rad > 0.6 * r),
        "square": lambda: box < 0.8 * r,
        "frame": lambda: (box < 0.85 * r) & (box > 0.55 * r),
        "triangle": lambda: np.all(
            [u * math.cos(a) + v * math.sin(a) < 0.45 * r for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)], axis=0
        ),
        "cross": lambda: ((abs(u) < 0.25 * r) | (abs(v) < 0.25 * r)) & (box < r),
        "bar": lambda: (abs(u) < 1.1 * r) & (abs(v) < 0.22 * r),
        "stripes": lambda: patch & (np.sin(2 * np.pi * u / p) > 0),
        "checkers": lambda: patch & (np.sin(2 * np.pi * u / p) * np.sin(2 * np.pi * v / p) > 0),
        "spots": lambda: patch & (np.cos(2 * np.pi * u / p) * np.cos(2 * np.pi * v / p) > 0.35),
    }
    return shape[SHAPES_CLASSES[label]]()


def make_shapes(split="train", n=None, seed=0, start=0):
    """The `shapes` data set, vectorised.

    Args:
        split: "train" or "test".
        n: number of images (default: the split's size); images are indexed start .. start+n-1.
        seed: data-set seed; image i is the same for the same (seed, split, i), however many are made.
    Returns:
        images (n, 3, 32, 32) uint8, labels (n,) int64 (balanced: label = index mod 10).
    """
    if split not in _SPLIT_SALT:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
    n = SHAPES_SIZES[split] if n is None else n
    idx = np.arange(start, start + n)
    chunks = [_render(seed, split, idx[i : i + 2048]) for i in range(0, n, 2048)] or [np.zeros((0, 32, 32, 3), np.uint8)]
    images = torch.from_numpy(np.concatenate(chunks)).permute(0, 3, 1, 2).contiguous()
    return images, torch.from_numpy(idx % len(SHAPES_CLASSES)).long()


def _render(seed, split, idx):
    """Images (len(idx), 32, 32, 3) uint8."""
    n = len(idx)
    q = _uniform(seed, split, idx, _N_PARAMS + 32 * 32 * 3)  # (n, P + pixels)
    q, noise = q[:, :_N_PARAMS], (q[:, _N_PARAMS:].reshape(n, 32, 32, 3) - 0.5).astype(np.float32)
    labels = idx % len(SHAPES_CLASSES)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64) + 0.5  # (32, 32)

    cx, cy = 10 + 12 * q[:, 0], 10 + 12 * q[:, 1]
    r = 6 + 6 * q[:, 2]
    th = 2 * np.pi * q[:, 3]
    period = 3 + 3 * q[:, 4]
    fg = q[:, 5:8]  # (n, 3) foreground colour
    bg = q[:, 8:11].copy()
    # keep the shape visible: a background too close to the foreground is pushed away from it
    close = np.abs(fg - bg).sum(1) < 0.6
    bg[close] = (fg[close] + 0.5) % 1.0

    # textured background: a random low-frequency wave
    fx, fy, ph = (q[:, 11] - 0.5) * 0.6, (q[:, 12] - 0.5) * 0.6, 2 * np.pi * q[:, 13]
    wave = np.sin(fx[:, None, None] * xx + fy[:, None, None] * yy + ph[:, None, None])  # (n, 32, 32)
    img = (bg[:, None, None, :] * (1 + 0.25 * wave[..., None])).astype(np.float32)  # (n, 32, 32, 3)

    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    c, s = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    rr, pp = r[:, None, None], period[:, None, None]
    for label in range(len(SHAPES_CLASSES)):
        sel = np.flatnonzero(labels == label)
        if len(sel):
            m = _masks(label, u[sel], v[sel], rr[sel], pp[sel])  # (k, 32, 32)
            img[sel] = np.where(m[..., None], fg[sel][:, None, None, :], img[sel])

    # a distractor (70% of images): a small rectangle of a random colour somewhere
    x0, y0 = np.floor(q[:, 14] * 28), np.floor(q[:, 15] * 28)
    w, h = 2 + np.floor(q[:, 16] * 3), 2 + np.floor(q[:, 17] * 3)
    dm = (xx[None] >= x0[:, None, None]) & (xx[None] < (x0 + w)[:, None, None])
    dm &= (yy[None] >= y0[:, None, None]) & (yy[None] < (y0 + h)[:, None, None])
    dm &= (q[:, 18] < 0.7)[:, None, None]
    img = np.where(dm[..., None], q[:, 19:22][:, None, None, :], img)

    img = img + noise * (0.05 + 0.15 * q[:, 22])[:, None, None, None]  # pixel noise of random strength
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Real data: CIFAR-10 (official python-format archive or an ImageFolder), any user ImageFolder.
# ---------------------------------------------------------------------------------------------


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"  # what the official archive extracts to
CIFAR10_JPG_DIR = "cifar10-jpg"  # the ImageFolder copy (train/<class>/*.jpg, test/<class>/*.jpg)

SPLITS = ("train", "test")
# Files listed in an image folder. They are decoded by models.uploads.decode_image, the one decoder of the project
# (its format allow-list and pixel limit); TIFFs are listed so that they are reported as skipped, never ignored.
IMAGE_SUFFIXES = tuple(f".{e}" for e in uploads.EXTENSIONS) + (".tif", ".tiff")
DECODER_VERSION = "uploads-1"  # part of the decoded-folder cache key: a new decoder never reuses old pixels

SAMPLE = "cifar10-sample"
SAMPLE_PATH = Path(__file__).resolve().parent / "samples" / "cifar10-test-first932.npz"
SAMPLE_SHA256 = "ad6f14c14dde611562b0262eca11fd5823866283268d09f2b4039769236605fd"
SAMPLE_DESCRIPTION = "the first 932 official CIFAR-10 test images (shipped)"
HOLDOUT_EVERY = 5  # a folder of class folders with no train/test split: every 5th image is test


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    classes: tuple
    mean: tuple
    std: tuple


def data_root() -> Path:
    """The data cache folder: $SKIPLAB_DATA, else ~/.cache/skiplab."""
    return Path(os.environ.get("SKIPLAB_DATA") or Path.home() / ".cache" / "skiplab").expanduser()


def offered_folders() -> dict[str, Path]:
    """The image folders visitors may train from, by name: $SKIPLAB_FOLDERS, folder paths separated by os.pathsep,
    set by the server's operator. A link or a visitor only ever names one of these names, never a path; folders
    that do not exist are left out."""
    out = {}
    for raw in os.environ.get("SKIPLAB_FOLDERS", "").split(os.pathsep):
        path = Path(raw.strip()).expanduser()
        if raw.strip() and path.is_dir():
            name = path.name if path.name not in out else f"{path.name} ({path.parent.name})"
            out.setdefault(name, path)
    return out


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}.")


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


# --- ImageFolder ------------------------------------------------------------------------------


def _decode_file(f):
    """One file of an image folder -> (3, 32, 32) uint8, through models.uploads.decode_image (the project's one
    decoder: the pixels a file gives are the same whether it is uploaded or read from a folder)."""
    try:
        data = f.read_bytes()
    except OSError as e:
        raise ValueError(f"{f.name} could not be read ({e}).") from None
    return uploads.decode_image(data, f.name).pixels.transpose(2, 0, 1).copy()


def _list_folder(path, split):
    """[(file, class_name)], class names, for one split of an ImageFolder."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"image folder {path} does not exist.")
    split_dir = path / split
    if split_dir.is_dir():
        base, holdout = split_dir, False
    elif (path / "train").is_dir() or (path / "test").is_dir():
        raise FileNotFoundError(f"{path} has no '{split}' folder (an ImageFolder needs train/ and test/).")
    else:
        base, holdout = path, True
    classes = sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"{base} has no class folders: put each class's images in its own sub-folder.")
    items = []
    for c in classes:
        files = sorted(f for f in (base / c).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if not files:
            raise ValueError(f"class folder '{c}' in {base} has no images ({', '.join(IMAGE_SUFFIXES)}).")
        if holdout:
            keep = (lambda i: i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1) if split == "test" else (lambda i: i % HOLDOUT_EVERY != HOLDOUT_EVERY - 1)
            files = [f for i, f in enumerate(files) if keep(i)]
            if not files:
                raise ValueError(f"class folder '{c}' has too few images to hold some out for testing (need {HOLDOUT_EVERY}).")
        items += [(f, c) for f in files]
    return items, classes


def load_image_folder(path, split="train", cache=True):
    """Decode one split of an ImageFolder to 32x32 with models.uploads.decode_image (centre square, Lanczos).

    Unreadable images are skipped and listed, not fatal. Decoded splits are cached as .npz under
    `data_root()/decoded/`, keyed by the folder's file names, sizes and times (60k JPEGs take a while).
    Returns:
        images (N, 3, 32, 32) uint8, labels (N,) int64 (index into classes), classes [str], skipped [Path].
    """
    _check_split(split)
    items, classes = _list_folder(path, split)
    sig = hashlib.sha1(str(Path(path).resolve()).encode() + split.encode() + DECODER_VERSION.encode())
    for f, c in items:
        st = f.stat()
        sig.update(f"{f.name}\0{c}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    cache_file = data_root() / "decoded" / f"{Path(path).name}-{split}-{sig.hexdigest()[:16]}.npz"
    if cache and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                skipped = [Path(s) for s in z["skipped"].tolist()]
                return torch.from_numpy(z["images"]), torch.from_numpy(z["labels"]), classes, skipped
        except (OSError, ValueError, KeyError):
            pass  # a broken cache is rebuilt
    images, labels, skipped = [], [], []
    for f, c in items:
        try:
            images.append(_decode_file(f))
            labels.append(classes.index(c))
        except ValueError:
            skipped.append(f)
    if not images:
        raise ValueError(f"none of the {len(items)} images in {path} ({split}) could be read.")
    images, labels = np.stack(images), np.asarray(labels, dtype=np.int64)
    if cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp.npz")
            np.savez(tmp, images=images, labels=labels, skipped=np.asarray([str(s) for s in skipped], dtype=str))
            os.replace(tmp, cache_file)
        except OSError:
            pass  # a read-only cache folder only costs speed
    return torch.from_numpy(images), torch.from_numpy(labels), classes, skipped


# --- augmentation -----------------------------------------------------------------------------


def augment(x, generator=None, pad=4):
    """He et al.'s CIFAR augmentation in torch: zero-pad by `pad`, random 32x32 crop, random h-flip.

    Args:
        x: (B, C, H, W) images (any dtype).
        generator: torch.Generator for reproducible draws.
    Returns:
        (B, C, H, W), same dtype.
    """
    B, C, H, W = x.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p)
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=generator)
    flip = torch.rand(B, generator=generator) < 0.5
    rows = oy[:, None] + torch.arange(H)  # (B, H)
    cols = ox[:, None] + torch.arange(W)  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    b, c = torch.arange(B)[:, None, None, None], torch.arange(C)[None, :, None, None]
    return xp[b, c, rows[:, None, :, None], cols[:, None, None, :]]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Fetch or check skiplab's data sets.")
    ap.add_argument("--download", action="store_true", help="download the official CIFAR-10 archive")
    ap.add_argument("--root", default=None, help=f"cache folder (default {data_root()})")
    a = ap.parse_args()
    for s in SPLITS:
        xs, ys = load_dataset("cifar10", s, root=a.root, download=a.download)
        print(f"cifar10 {s}: {tuple(xs.shape)} images, {len(set(ys.tolist()))} classes")
