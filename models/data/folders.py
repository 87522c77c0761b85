"""Image folders (train/<class>/*, test/<class>/* or class folders alone) decoded to tensors by the project's one
decoder, models.uploads.decode_image; cached by content."""

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from models import uploads
from models.data.common import _check_split, data_root

# Files listed in an image folder. They are decoded by models.uploads.decode_image, the one decoder of the project
# (its format allow-list and pixel limit); TIFFs are listed so that they are reported as skipped, never ignored.
IMAGE_SUFFIXES = tuple(f".{e}" for e in uploads.EXTENSIONS) + (".tif", ".tiff")
DECODER_VERSION = "uploads-1"  # part of the decoded-folder cache key: a new decoder never reuses old pixels
HOLDOUT_EVERY = 5  # a folder of class folders with no train/test split: every 5th image is test


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
