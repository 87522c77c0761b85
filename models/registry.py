"""The registry: every model (a zoo card: trained here, published weights, an imported checkpoint) and every data
set (shapes, cifar10, the shipped cifar10-sample, an image folder) described once, by a typed record.

Pages, charts, the command line and the warm-up ask the registry; only models.zoo reads and writes cards (each
card is parsed once per process per file version: `zoo.CARD_PARSES` counts). `models()` re-reads the zoo folders
when a card in them is added, removed or rewritten (a stat per card, no parse), so a model saved by the Train page
is listed at once.

    from models import registry
    rec = registry.model("cifar10-resnet56-published")
    rec.architecture        # 'ResNet-56' (a person's name for a model: viz.words.model_name, the one naming function)
    rec.dataset.test_split  # ('cifar10-sample', 'the first 932 official CIFAR-10 test images (shipped)')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from models import zoo
from models.data import datasets as data

SHAPES, CIFAR10, SAMPLE = "shapes", "cifar10", data.SAMPLE


@dataclass(frozen=True)
class DatasetRecord:
    """One data set; `source` is what `models.data.load_dataset` takes (a folder's path for a folder). kind: "shapes" (generated, built in),
    "cifar10" (the full set, on disk or not), "sample" (the shipped 932 exact CIFAR-10 test images, test only) or
    "folder" (an ImageFolder)."""

    name: str  # the card's data set: "shapes", "cifar10", "cifar10-sample", or a folder's name
    display_name: str
    short_name: str  # in a chart's label: "shapes", "CIFAR-10", "CIFAR-10 sample", the folder's name
    kind: str
    classes: tuple
    mean: tuple | None  # per-channel train statistics; None for a folder (models.data.dataset_info computes them)
    std: tuple | None
    path: str | None = None  # a folder's path; None when its card did not record it

    @property
    def built_in(self) -> bool:
        """Shipped with the project or downloaded by it (shapes, CIFAR-10, its sample), not a user's folder."""
        return self.kind != "folder"

    @property
    def generated(self) -> bool:
        """Drawn by code (shapes): any image index exists, no file is read."""
        return self.kind == SHAPES

    @property
    def cifar(self) -> bool:
        """CIFAR-10 or its shipped sample: the same classes and statistics."""
        return self.kind in (CIFAR10, "sample")

    @property
    def source(self) -> str:
        """What `load_dataset` needs. FileNotFoundError (what is missing, how to get it) for a folder that is not here."""
        if self.built_in:
            return self.name
        if self.path and Path(self.path).is_dir():
            return self.path
        what = f"this model was trained on the image folder {self.path or self.name}"
        if self.path:
            raise FileNotFoundError(f"{what}, which is not on this machine. Put the folder back there (`train/<class>/*` and "
                                    "`test/<class>/*`, or `<class>/*`) to measure this model, or pick another.")
        raise FileNotFoundError(f"{what}, and its card does not say where that folder is (models trained before cards "
                                "recorded it). Train it again on the Train page or with `python -m models.train "
                                "--dataset PATH`, or pick another model.")

    def test_split(self, exact_pixels: bool = False) -> tuple[str, str]:
        """(name for `load_dataset`, description) of the test images to measure on: see
        models.data.which_test_split (CIFAR-10's full split where it is here, else the shipped sample)."""
        return data.which_test_split(self.source, exact_pixels=exact_pixels)


_BUILT_IN = {
    SHAPES: DatasetRecord(SHAPES, "built-in shapes", SHAPES, SHAPES, data.SHAPES_CLASSES, data.SHAPES_MEAN, data.SHAPES_STD),
    CIFAR10: DatasetRecord(CIFAR10, "CIFAR-10", "CIFAR-10", CIFAR10, data.CIFAR10_CLASSES, data.CIFAR10_MEAN, data.CIFAR10_STD),
    SAMPLE: DatasetRecord(SAMPLE, "CIFAR-10 sample (932 exact test images)", "CIFAR-10 sample", "sample", data.CIFAR10_CLASSES,
                          data.CIFAR10_MEAN, data.CIFAR10_STD),
}


def dataset(name: str, path: str | None = None, classes: tuple = ()) -> DatasetRecord:
    """The record of a data set by name ("shapes", "cifar10", "cifar10-sample", or a folder's name or path)."""
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    given = Path(str(path or name)).expanduser()
    folder = str(path) if path else (str(given) if given.is_dir() else None)
    short = Path(str(name)).name or str(name)
    return DatasetRecord(short, f"image folder {short}", short, "folder", tuple(classes), None, None, folder)


def built_in_datasets() -> tuple[DatasetRecord, ...]:
    """shapes, cifar10 and the shipped sample, in that order."""
    return tuple(_BUILT_IN.values())


@dataclass(frozen=True)
class ModelRecord:
    """One zoo model, as its card describes it; name is the zoo's id (`models.zoo.load(name)`). How a person names
    it is viz.words.model_name's job (pages add the author and whose it is: frame.catalog)."""

    name: str
    dataset: DatasetRecord
    depth: int | None
    skip: bool | None
    origin: str  # "trained here", "published" or "imported"
    licence: str | None
    author: str | None  # of a published network
    where: str  # "shipped" or "user" (the zoo folder holding it)
    path: Path  # the weights (.safetensors); the card is beside it (.json)
    sha256: str
    classes: tuple
    test_acc: float | None
    sample_acc: float | None
    train_acc: float | None
    epochs: int | None
    seconds: float | None
    params: int | None
    from_train_page: bool  # saved by the Train page (listed only for the session that trained it)

    @property
    def architecture(self) -> str:
        return f"{'ResNet' if self.skip else 'plain'}-{self.depth}"

    @property
    def exact_pixels(self) -> bool:
        """Trained elsewhere on the official pixels (published, imported): never measured on the JPEG copy."""
        return self.origin != zoo.TRAINED_HERE

    @property
    def test_split(self) -> tuple[str, str]:
        """(name for `load_dataset`, description) of the images this model is measured on."""
        return self.dataset.test_split(exact_pixels=self.exact_pixels)

    def card(self) -> dict:
        """The full card (recipe, history, hardware, command ...): a copy of the one parse of this file version."""
        return zoo.read_card(self.path.with_suffix(".json"))


def record_of(card: dict, card_path: Path, where: str) -> ModelRecord:
    """A ModelRecord from a parsed card at card_path (in the zoo folder `where`)."""
    cfg = card["config"]
    classes = tuple(card.get("classes") or ())
    ds = dataset(str(card.get("dataset")), card.get("data_path"), classes)
    origin = card.get("origin", zoo.TRAINED_HERE)
    return ModelRecord(
        name=card_path.stem, dataset=ds, depth=cfg.get("depth"),
        skip=cfg.get("skip"), origin=origin, licence=card.get("licence") or card.get("license"),
        author=card.get("author"), where=where,
        path=card_path.with_suffix(".safetensors"), sha256=card.get("sha256", ""), classes=classes or ds.classes,
        test_acc=card.get("test_acc"), sample_acc=card.get("sample_acc"), train_acc=card.get("train_acc"),
        epochs=card.get("epochs"), seconds=card.get("seconds"), params=card.get("params"),
        from_train_page=str(card.get("command", "")).startswith("Train page"))


def folders_version() -> tuple:
    """What the zoo folders hold now: (folder, ((card name, mtime_ns, size), ...)) per folder; a stat per card."""
    version = []
    for where, folder in zoo.folders():
        cards = sorted(folder.glob("*.json")) if folder.is_dir() else []
        stats = []
        for p in cards:
            try:
                s = p.stat()
            except OSError:
                continue
            stats.append((p.name, s.st_mtime_ns, s.st_size))
        version.append((where, str(folder), tuple(stats)))
    return tuple(version)


def models() -> tuple[ModelRecord, ...]:
    """Every model of the zoo folders, shipped first; a name in both folders is the shipped one. Unreadable cards are
    left out (models.zoo.list warns about them)."""
    return _models(folders_version())


@functools.lru_cache(maxsize=4)
def _models(version: tuple) -> tuple[ModelRecord, ...]:
    records, seen = [], set()
    for where, folder, stats in version:
        for card_name, _, _ in stats:
            path = Path(folder) / card_name
            if path.stem in seen:
                continue
            try:
                records.append(record_of(zoo.read_card(path), path, where))
            except (ValueError, FileNotFoundError):
                continue
            seen.add(path.stem)
    return tuple(records)


def model(name: str) -> ModelRecord:
    """The record of a zoo model by name; ValueError naming the known models when there is none."""
    for rec in models():
        if rec.name == name:
            return rec
    zoo.check_name(name)
    known = ", ".join(r.name for r in models()) or "none"
    raise ValueError(f"no zoo model named {name!r}. Known models: {known}.")


OPENING_ORDER = (CIFAR10, SHAPES)  # a page opens on real images (the published networks) where it can


def opening_dataset(names) -> str | None:
    """Of these data set names, the one a page opens on: CIFAR-10 where present, else shapes; None when neither is."""
    names = set(names)
    return next((d for d in OPENING_ORDER if d in names), None)
