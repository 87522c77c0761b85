"""The model zoo: trained checkpoints as `<name>.safetensors` + `<name>.json` (the card).

Two folders are searched: the shipped `models/weights/` and the user zoo (`$SKIPLAB_ZOO`, else
`~/.cache/skiplab/zoo`), where the Train page saves. Names read `{dataset}-{resnet|plain}{depth}[-...]`,
e.g. `shapes-resnet20`, `cifar10-plain56`, `cifar10-resnet56-published`. Weights are only ever read with
safetensors (no pickle), checked against the SHA-256 in the card and against the architecture the card describes.
A card's `origin` says where the network comes from: "trained here" (models.train; the default of older cards),
"published" (a known published checkpoint, converted by models.imports) or "imported" (any other checkpoint).

    python -m models.zoo readme                                  # models/weights/README.md from the shipped cards
    python -m models.zoo import PATH [--name NAME] [--zoo DIR]   # bring your own network (see models/imports.py)
(the command line is models/zoo_cli.py, which imports this module; this module imports no importer)
"""

import builtins
import collections
import copy
import functools
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from models.resnet import ResNet, ResNetConfig

SHIPPED = Path(__file__).resolve().parent / "weights"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
COLUMNS = ["name", "dataset", "depth", "skip", "origin", "author", "test_acc", "sample_acc", "train_acc", "epochs", "seconds", "params",
           "source", "path"]
TRAINED_HERE = "trained here"
PUBLISHED_SOURCES = {  # author on the card -> the README's paragraph about their networks
    "Yerlan Idelbayev": "**akamaster/pytorch_resnet_cifar10** (Yerlan Idelbayev, 2018; BSD 2-clause, notice in "
    "`LICENSE-pytorch_resnet_cifar10`): ResNet-20/32/44/56, 200 epochs on the official CIFAR-10 (He et al. 2015 "
    "Sec. 4.2), option-A shortcuts that subsample and pad the new channels on both sides, ImageNet normalisation; "
    "accuracy reported on the official 10,000 test images.",
    "Parag Dutta": "**atreides-K/Basic-Image-Classification-ML** (Parag Dutta, 2024; BSD 3-clause, notice in "
    "`LICENSE-Basic-Image-Classification-ML`): plain-20/56 and ResNet-20/56 trained with one recipe (169 epochs), "
    "the only difference in each pair the skip connection, so He et al.'s degradation shows on fully trained "
    "weights; every convolution has a bias (folded into its batch norm), 2x2-average shortcuts padded on both sides, "
    "CIFAR-10 normalisation (std 0.2023); accuracy reported on the 932 exact test images.",
}


def user_dir() -> Path:
    """The user zoo folder: $SKIPLAB_ZOO, else ~/.cache/skiplab/zoo."""
    return Path(os.environ.get("SKIPLAB_ZOO") or Path.home() / ".cache" / "skiplab" / "zoo").expanduser()


def folders():
    return [("shipped", SHIPPED), ("user", user_dir())]


def model_name(dataset, config):
    """Canonical name, e.g. 'shapes-resnet20' or 'cifar10-plain56' (a folder's odd characters become '_')."""
    dataset = re.sub(r"[^A-Za-z0-9_.-]", "_", str(dataset)).lstrip("._-") or "data"
    return f"{dataset}-{'resnet' if config.skip else 'plain'}{config.depth}"


def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"{name!r} is not a zoo model name (letters, digits, '-', '_', '.'; e.g. 'shapes-resnet20').")
    return name


CARD_PARSES: collections.Counter = collections.Counter()  # card path -> JSON parses in this process (tests count)


def read_card(path) -> dict:
    """The card at `path`, parsed once per process per file version (path, inode, mtime, size): a fresh copy each call, so
    no caller can change another's. ValueError, in a sentence, for a card that is not readable JSON or has no config."""
    path = Path(path)
    try:
        s = path.stat()
    except OSError as e:
        raise ValueError(f"the model card {path} is not readable ({e}).") from e
    return copy.deepcopy(_parsed_card(str(path.resolve()), s.st_ino, s.st_mtime_ns, s.st_size))


@functools.lru_cache(maxsize=256)
def _parsed_card(path: str, inode: int, mtime_ns: int, size: int) -> dict:
    CARD_PARSES[path] += 1
    try:
        card = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"the model card {path} is not readable JSON ({e}).") from e
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise ValueError(f"the model card {path} has no 'config' section.")
    return card


_read_card = read_card  # the name older callers use


def _find(name):
    check_name(name)
    for source, folder in folders():
        if (folder / f"{name}.json").is_file():
            return source, folder / f"{name}.json"
    known = ", ".join(list()["name"]) or "none"
    raise ValueError(f"no zoo model named {name!r}. Known models: {known}.")


def list() -> pd.DataFrame:  # the brief's name (shadows list() in this module)
    """The catalog: one row per card in the shipped and user folders (unreadable cards are skipped with a warning)."""
    rows = []
    for source, folder in folders():
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.json")):
            try:
                c = read_card(p)
                cfg = c["config"]
                rows.append(
                    {
                        "name": p.stem,
                        "dataset": c.get("dataset"),
                        "depth": cfg.get("depth"),
                        "skip": cfg.get("skip"),
                        "origin": c.get("origin", TRAINED_HERE),
                        "author": c.get("author"),  # of a published network
                        "test_acc": c.get("test_acc"),
                        "sample_acc": c.get("sample_acc"),
                        "train_acc": c.get("train_acc"),
                        "epochs": c.get("epochs"),
                        "seconds": c.get("seconds"),
                        "params": c.get("params"),
                        "source": source,
                        "path": str(p.with_suffix(".safetensors")),
                    }
                )
            except ValueError as e:
                warnings.warn(str(e), stacklevel=2)
    return pd.DataFrame(rows, columns=COLUMNS)


def card(name) -> dict:
    """The JSON card of a zoo model: dataset, config, recipe, accuracies, seconds, hardware, command, history."""
    return read_card(_find(name)[1])


def config_from_card(c) -> ResNetConfig:
    known = {f.name for f in fields(ResNetConfig)}
    cfg = {k: tuple(v) if isinstance(v, builtins.list) else v for k, v in c["config"].items() if k in known}
    try:
        return ResNetConfig(**cfg)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the card's config is not a valid ResNet: {e}") from e


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_path(card_path) -> ResNet:
    """Load `<stem>.safetensors` described by the card at `card_path`; eval mode. Raises ValueError on any mismatch."""
    card_path = Path(card_path)
    c = read_card(card_path)
    cfg = config_from_card(c)
    wpath = card_path.with_suffix(".safetensors")
    if not wpath.is_file():
        raise ValueError(f"the weights file {wpath.name} is missing next to its card.")
    if c.get("sha256") and sha256(wpath) != c["sha256"]:
        raise ValueError(f"{wpath.name} is corrupt or truncated: its SHA-256 does not match its card.")
    try:
        state = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ValueError(f"{wpath.name} is not a readable safetensors file ({e}).") from e
    model = ResNet(cfg)
    want = model.state_dict()
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        raise ValueError(
            f"{wpath.name} does not match a {cfg.name} (as its card says): "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}."
        )
    for k, v in state.items():
        if v.shape != want[k].shape:
            raise ValueError(f"{wpath.name} does not match its card: {k} has shape {tuple(v.shape)}, expected {tuple(want[k].shape)}.")
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"{wpath.name} holds NaN or infinite values in {k}.")
    model.load_state_dict(state)
    return model.eval()


def load(name) -> ResNet:
    """A zoo model by name, in eval mode (weights verified against the card's checksum and architecture)."""
    return load_path(_find(name)[1])


def save(model, c, folder, name=None) -> Path:
    """Write `<name>.safetensors` and `<name>.json` (the card `c`, completed with config, params, sha256)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)
    name = check_name(name or c["name"])
    wpath = folder / f"{name}.safetensors"
    tmp = folder / f".{name}.safetensors.tmp"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata={"name": name, "format": "pt"})
    os.replace(tmp, wpath)
    os.chmod(wpath, 0o644)
    c = dict(c, name=name, config=_jsonable(asdict(model.config)), sha256=sha256(wpath))
    c.setdefault("params", sum(p.numel() for p in model.parameters()))
    tmp = folder / f".{name}.json.tmp"
    tmp.write_text(json.dumps(c, indent=1))
    os.replace(tmp, folder / f"{name}.json")
    return wpath


def _jsonable(d):
    return {k: builtins.list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def histories(dataset="shapes", depths=(20, 56), source="shipped") -> pd.DataFrame:
    """Per-epoch history of the `{dataset}-{resnet|plain}{depth}` models, tidy: one row per model and epoch.

    Columns: name, depth, skip, epoch, train_error, test_error (in %), seconds. Missing models are left out.
    """
    rows = []
    for depth in depths:
        for skip in (False, True):
            name = f"{dataset}-{'resnet' if skip else 'plain'}{depth}"
            p = dict(folders())[source] / f"{name}.json"
            if not p.is_file():
                continue
            for h in read_card(p).get("history", []):
                rows.append({"name": name, "depth": depth, "skip": skip, "epoch": h["epoch"],
                             "train_error": 100 * (1 - h["train_acc"]), "test_error": 100 * (1 - h["test_acc"]),
                             "seconds": h.get("seconds")})
    return pd.DataFrame(rows, columns=["name", "depth", "skip", "epoch", "train_error", "test_error", "seconds"])


def _threads(hardware: str) -> str:
    """'x86_64; 1 process(es) x 2 thread(s); torch ...' -> '1 x 2' (the last run's, for a resumed one)."""
    m = re.search(r"(\d+) process\(es\) x (\d+) thread", hardware)
    return f"{m[1]} x {m[2]}" if m else "?"


BUDGET_MB = 50  # shipped weights: the 16 models trained here, akamaster's 4 published ResNets and the 4 published twins


def _pct(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2%}"


def shipped_readme() -> str:
    """models/weights/README.md, written from the shipped cards (`python -m models.zoo readme`), so the
    tables cannot drift from the weights: the models trained here (accuracy, epochs, seconds, hardware) and the
    published networks converted at import (source, licence, the author's reported error, ours measured here)."""
    df = list()
    df = df[df.source == "shipped"].sort_values(["dataset", "skip", "depth"], ascending=[True, False, True])
    own, pub = _readme_rows(df)
    total = sum(Path(p).stat().st_size for p in df.path) / 2**20
    return _readme_text(own, pub, total)


def _readme_rows(df) -> tuple[builtins.list, builtins.list]:
    """The README's table rows: (models trained here, published networks), one Markdown row per shipped card."""
    own, pub = [], []
    for r in df.itertuples():
        c = read_card(Path(r.path).with_suffix(".json"))
        size = Path(r.path).stat().st_size / 2**20
        if r.origin == TRAINED_HERE:
            own.append(f"| `{r.name}` | {r.dataset} | {r.depth} | {'yes' if r.skip else 'no'} | {_pct(r.test_acc)} | "
                       f"{_pct(c.get('sample_acc'))} | {_pct(r.train_acc)} | {int(r.epochs)} | {r.seconds:.0f} | "
                       f"{_threads(c.get('hardware', ''))} | {c.get('recipe', {}).get('precision', 'fp32')} | {size:.1f} MB |")
        else:
            rep = c.get("reported_error")
            on = "932 exact" if "932" in str(c.get("reported_on")) else "official 10,000"
            pub.append(f"| `{r.name}` | {r.depth} | {'yes' if r.skip else 'no'} | `{c.get('source_file')}` "
                       f"({c.get('author', '?')}) | {'-' if rep is None else f'{1 - rep:.2%}'} ({on}) | "
                       f"{_pct(c.get('sample_acc'))} | {_pct(r.test_acc)} | {r.params / 1e6:.2f}M | {size:.1f} MB |")
    return own, pub


def _readme_text(own: builtins.list, pub: builtins.list, total: float) -> str:
    """models/weights/README.md around its rows (total: the shipped weights' size in MB)."""
    return f"""# Shipped checkpoints

Each model is `<name>.safetensors` (weights, read only with safetensors) and `<name>.json` (its card: data set,
config, where the network comes from (`origin`), accuracies, and the SHA-256 of the weights that `models.zoo.load`
checks). Catalog: `python -c "from models import zoo; print(zoo.list())"`.
This file is written from the cards: `python -m models.zoo readme > models/weights/README.md`.

Two test sets for CIFAR-10, said apart in every table: **sample** is `cifar10-sample`, the first 932 official
CIFAR-10 test images with their exact pixels, shipped in `models/samples/`; **JPEG test** is the full 10,000-image
test split of the heavily re-encoded JPEG copy (`cifar10-jpg`), which is what the networks trained here were
trained and tested on. Networks trained on the official pixels lose about 10 points on the JPEGs.

## Trained here (the controlled experiment)

One recipe per data set, the same but for precision: 15 epochs, batch 128, SGD momentum 0.9, weight decay 5e-4,
one-cycle schedule peaking at lr 0.1, pad-4 crops and flips, seed 0; CIFAR-10 (the JPEG copy) in `bf16` (forward
pass and loss under bfloat16 autocast; weights, optimizer and test evaluation in float32; about 1.6x faster per
step on this CPU), `shapes` in float32. `python -m models.train --dataset DATA --depth D [--no-skip] --epochs 15
--batch-size 128 --lr 0.1 --wd 5e-4 --schedule onecycle --seed 0 [--precision bf16] --out runs/zoo/NAME`, one
model after another (`models/weights/train_zoo.sh`) on a 2-core CPU machine often shared with other work, so the
seconds are slow and noisy. He et al. train CIFAR-10 for 164 epochs; this is 15.

| name | data | depth | skip | test acc (JPEG test for CIFAR-10) | sample acc (932 exact) | train acc (last epoch, augmented batches) | epochs | train seconds | processes x threads | precision | size |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(own)}

## Published (converted at import)

Networks trained by their authors on the official CIFAR-10, imported through the general path of models/imports.py
(`python -m models.zoo import FILE --zoo models/weights`, one file after another): the tensors mapped by structure,
what the shapes cannot tell (residual or plain, option A's padding and downsampling, the input normalisation) measured
on the exact test images; each card names the reading chosen, the source file, its SHA-256 and the licence.
(akamaster's four were converted by the earlier importer, which permuted each stage's channels so that the zero
channels come at the end; the general path reads the same files as option A padded on both sides.) Either way the
networks compute their authors' functions: logits equal to 1e-4 against each author's network written independently
in tests/models/test_imports_published.py.

{chr(10).join(f"- {v}" for v in PUBLISHED_SOURCES.values())}

| name | depth | skip | source (author) | reported acc (on) | sample acc (932 exact) | JPEG test acc (10,000) | params | size |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(pub)}

{len(own) + len(pub)} models ({len(own)} trained here, {len(pub)} published), {total:.1f} MB together; the budget is
{BUDGET_MB} MB (raised from 40 MB, then 45 MB, for the published networks).
"""


if __name__ == "__main__":  # `python -m models.zoo ...`: the command line lives in models/zoo_cli.py
    import runpy

    runpy.run_module("models.zoo_cli", run_name="__main__")
