"""The data a training run takes: a data set's splits in memory with its classes and statistics (Data), built
from tensors already loaded (as_data) or by name (load_data)."""

from dataclasses import dataclass
from pathlib import Path

from models import registry
from models.data import dataset_info, load_dataset, subset


@dataclass(frozen=True, eq=False)
class Data:
    """A data set in memory, as train() needs it. Tensors are shared, never mutated."""

    name: str  # "shapes", "cifar10" or the image folder's name: the card's dataset and the default model name
    train: tuple  # (images uint8 (N, 3, 32, 32), labels int64 (N,))
    test: tuple  # (images uint8 (M, 3, 32, 32), labels int64 (M,)), test_limit applied
    classes: tuple  # class names, index = label
    mean: tuple  # per-channel mean and std of the train split, in [0, 1]: the model normalizes with them
    std: tuple
    path: str | None = None  # the image folder, resolved (None for the built-in data sets)


def as_data(dataset, train, test, *, classes=None, test_limit=None) -> Data:
    """A Data from splits already in memory (e.g. the Train page's shared cache).

    Args:
        dataset: "shapes", "cifar10" or an image folder's path (its class names are read from it unless given).
        train, test: (images uint8 (N, 3, 32, 32), labels int64 (N,)) each.
        classes: class names (default: the data set's).
        test_limit: keep at most this many test images, a random subset of the test split, the same for every
            epoch and every run (seed 0, not the run's seed, so runs stay comparable; a folder's test split is in
            class order, so its first N would miss classes).
    """
    (xtr, ytr), (xte, yte) = train, test
    if test_limit and len(xte) > test_limit:
        keep = subset(len(xte), int(test_limit), 0)
        xte, yte = xte[keep], yte[keep]
    record = registry.dataset(str(dataset))
    if record.built_in:
        return Data(record.name, (xtr, ytr), (xte, yte), tuple(classes or record.classes), record.mean, record.std)
    path = Path(str(dataset)).expanduser().resolve()
    x = xtr.float() / 255  # as models.data.dataset_info computes a folder's statistics
    mean = tuple(round(float(m), 4) for m in x.mean((0, 2, 3)))
    std = tuple(round(max(float(s), 1e-3), 4) for s in x.std((0, 2, 3)))
    classes = tuple(classes) if classes else tuple(dataset_info(str(path)).classes) if path.is_dir() else ()
    return Data(path.name, (xtr, ytr), (xte, yte), classes, mean, std, str(path))


def load_data(dataset, root=None, test_limit=None, classes=None) -> Data:
    """Load a data set's train and test splits (see models.data.load_dataset) as a Data; test_limit and classes
    as for as_data."""
    splits = [load_dataset(dataset, s, root=root) for s in ("train", "test")]
    return as_data(dataset, *splits, classes=classes, test_limit=test_limit)
