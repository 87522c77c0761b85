"""What every data-set module shares: the splits and the data cache folder."""

import os
from pathlib import Path

SPLITS = ("train", "test")


def data_root() -> Path:
    """The data cache folder: $SKIPLAB_DATA, else ~/.cache/skiplab."""
    return Path(os.environ.get("SKIPLAB_DATA") or Path.home() / ".cache" / "skiplab").expanduser()


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
