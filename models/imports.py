"""Bring your own network: a CIFAR ResNet checkpoint from elsewhere becomes a zoo model computing its function.

Three steps, each refusing with one sentence (a ValueError) before anything is written:
1. `models.checkpoints.read_state_dict`: the file's tensors, unwrapped from what people save (safetensors, or a pickle
   read only with `torch.load(..., weights_only=True)`).
2. `models.structure.read_structure`: the tensors mapped onto `models.resnet.ResNet` by shape and module order, not
   by names (depth, width, classes, option B's projections; conv biases folded into their batch norms).
3. `models.readings.rank`: what the shapes cannot tell (residual or plain, option A's padding and downsampling, the
   input normalisation) measured on the shipped exact CIFAR-10 test images; the best reading is kept, and a network
   near chance under every reading is refused. Any choice can be fixed instead (`skip`, `pad`, `downsample`,
   `normalisation`).
`analyse` does these; `save` measures the chosen network on the 932 sample images (and the full test split when it
is on this machine) and writes it with its card via `models.zoo.save`. Known published files (by SHA-256) get their
author, licence and reported accuracy on the card; they are converted like any other file.
"""

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from models import zoo
from models.checkpoints import MAX_BYTES, read_state_dict
from models.data import CIFAR10_CLASSES, SAMPLE_DESCRIPTION, describe_split, load_dataset, on_disk
from models.readings import IMAGES, NEAR_CHANCE, NORMALISATIONS, candidates, config, likely_normalisations, rank
from models.resnet import ResNet
from models.structure import load_into, read_structure

AKAMASTER = {
    "author": "Yerlan Idelbayev",
    "url": "https://github.com/akamaster/pytorch_resnet_cifar10",
    "licence": "BSD 2-clause licence, Copyright (c) 2018, Yerlan Idelbayev "
    "(full notice in models/weights/LICENSE-pytorch_resnet_cifar10)",
    "reported_on": "official CIFAR-10 test split, 10,000 images (the author's README)",
    "recipe_summary": "200 epochs on the official CIFAR-10 by the author (He et al. 2015 Sec. 4.2, option A)",
    "suffix": "published",
}
DUTTA = {
    "author": "Parag Dutta",
    "url": "https://github.com/atreides-K/Basic-Image-Classification-ML",
    "licence": "BSD 3-clause licence, Copyright (c) 2024, Parag Dutta "
    "(full notice in models/weights/LICENSE-Basic-Image-Classification-ML)",
    "reported_on": "the first 932 official CIFAR-10 test images, exact pixels, measured with the author's model code "
    "(the README beside the weights)",
    "recipe_summary": "169 epochs on the official CIFAR-10 by the author, one recipe for the plain and residual twins "
    "(SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, MultiStepLR at 80 and 120, crop and flip)",
    "suffix": "dutta",
}
# Known published checkpoints by the SHA-256 of the file: (depth, skip, the error their author reports, source)
KNOWN = {
    "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8": (20, True, 0.0827, AKAMASTER),
    "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850": (32, True, 0.0737, AKAMASTER),
    "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4": (44, True, 0.0690, AKAMASTER),
    "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367": (56, True, 0.0661, AKAMASTER),
    "c503c33e110be0f7877e82ed0683abd1e1ae27cf70a421431dc7e35f54cc9b8a": (20, False, 0.090, DUTTA),
    "7e36eaca948fce980b4413d129f4273f8226be3097f27ef5f2da31afa90b2811": (20, True, 0.086, DUTTA),
    "52f2c5278b95a311ccf1b00f34ebb41cad820784283b827f2454fa5571807391": (56, False, 0.123, DUTTA),
    "77da965b443ab2ca3880fc3c9bf1cd45e44ac9b748a6c8e10aca04a561f22c22": (56, True, 0.063, DUTTA),
}


@dataclass
class Analysis:
    """A checkpoint read and measured, nothing written. model: the chosen network (eval mode); facts: card fields;
    mapping: rows (source module, skiplab module, note); trials: `models.readings.Trial`s, best first; sentence: the
    chosen reading and the runner-up, with their accuracies."""

    model: ResNet
    facts: dict
    mapping: list
    trials: list
    sentence: str

    def mapping_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.mapping, columns=["source", "skiplab", "note"])

    def trials_table(self) -> pd.DataFrame:
        shortcut = self.model.config.shortcut
        return pd.DataFrame(
            [(t.reading.words(shortcut), t.accuracy, t.loss, t.images) for t in self.trials],
            columns=["reading", "accuracy", "mean loss", "images"],
        )


def analyse(data: bytes, filename: str, *, skip=None, pad=None, downsample=None, normalisation=None, progress=None):
    """A checkpoint's bytes -> Analysis. Nothing is written.

    Args:
        data: the file's bytes; filename: its name (.safetensors, .th, .pt or .pth).
        skip, pad ("end" | "both"), downsample ("subsample" | "average"), normalisation (a key of
            `models.readings.NORMALISATIONS`, or "file"): fixed choices; None measures them.
        progress: called with (words, fraction done) while it reads and measures.
    Raises:
        ValueError (one sentence): an unreadable file, tensors that are no CIFAR ResNet, a network near chance under
        every reading tried.
    """
    say = progress or (lambda *_: None)
    say(f"Reading {Path(str(filename)).name}", 0.0)
    state = read_state_dict(data, filename)
    say(f"Mapping {len(state)} tensors by their shapes", 0.1)
    st = read_structure(state)
    todo = candidates(st, skip, pad, downsample, normalisation)
    trials, sentence = [], f"Read as {todo[0].words(st.shortcut)}"
    if st.num_classes == len(CIFAR10_CLASSES):
        x, y = load_dataset("cifar10-sample", "test")
        if normalisation is None and st.mean is None:
            likely = likely_normalisations(st, x[:IMAGES])
            todo = [r for r in todo if r.normalisation in likely]
        trials = rank(st, todo, x, y, lambda w, f: say(w, 0.2 + 0.8 * f))
        sentence = _sentence(trials, st, len(todo))
    elif len(todo) > 1:
        sentence += f" (not measured: {st.num_classes} classes, not CIFAR-10's; fix the reading to choose another)"
    chosen = trials[0].reading if trials else todo[0]
    model = load_into(ResNet(config(st, chosen)).eval(), st)
    sha = hashlib.sha256(data).hexdigest()
    facts = {
        "source_file": Path(str(filename)).name,
        "source_sha256": sha,
        "layout": f"mapped by structure: {st.layout}",
        "reading": chosen.words(st.shortcut),
        "reading_measured": sentence,
    }
    if any(note for _, _, note in st.mapping):
        facts["conversion"] = "convolution biases folded into the running means of their batch norms"
    known = KNOWN.get(sha)
    if known and known[:2] == (model.config.depth, model.config.skip):
        facts |= {k: v for k, v in known[3].items() if k != "suffix"} | {"origin": "published", "reported_error": known[2]}
    else:
        facts["origin"] = "imported"
    say("Done", 1.0)
    return Analysis(model, facts, st.mapping, trials, sentence)


def _sentence(trials, st, tried):
    best = trials[0]
    line = f"Read as {best.reading.words(st.shortcut)}: {best.accuracy:.1%} on {best.images} exact test images"
    if len(trials) > 1:
        r = trials[1]
        line += f"; as {r.reading.words(st.shortcut)}: {r.accuracy:.1%}" + (
            f" (on {r.images})" if r.images != best.images else ""
        )
        if r.accuracy >= best.accuracy:
            line += " (as close: the first matches the statistics its batch norms were trained with)"
    chance = 1 / st.num_classes
    if tried > 1 and best.accuracy < chance + NEAR_CHANCE:
        raise ValueError(
            f"Read every way skiplab knows ({tried} readings: {_tried(trials)}), this network scores at best "
            f"{best.accuracy:.1%} on {best.images} exact CIFAR-10 test images, near chance ({chance:.0%}): it is "
            "untrained, or computes something skiplab does not build."
        )
    return line + "."


def _tried(trials):
    """The readings tried, in words: e.g. 'residual or plain; zero channels at the end or on both sides; ...'."""
    rs = [t.reading for t in trials]
    parts = ["residual or plain"] if len({r.skip for r in rs}) > 1 else []
    if len({r.pad for r in rs if r.skip}) > 1:
        parts.append("zero channels at the end or on both sides")
    if len({r.downsample for r in rs if r.skip}) > 1:
        parts.append("subsampling or 2x2-average shortcuts")
    norms = dict.fromkeys(NORMALISATIONS.get(r.normalisation, (0, 0, "the file's own normalisation"))[2] for r in rs)
    return "; ".join([*parts, " or ".join(norms)])


def to_resnet(data: bytes, filename: str, **reading) -> tuple[ResNet, dict]:
    """`analyse`, as (model, facts)."""
    a = analyse(data, filename, **reading)
    return a.model, a.facts


# --- measuring and saving ----------------------------------------------------------------------------


def accuracy(model, images, labels, batch: int = 500) -> float:
    """Top-1 accuracy. images: (N, 3, 32, 32) uint8; labels: (N,) int64. The model is not changed."""
    with torch.inference_mode():
        hits = sum(
            int((model(images[a : a + batch].float() / 255).argmax(1) == labels[a : a + batch]).sum())
            for a in range(0, len(images), batch)
        )
    return hits / len(images)


def measure(model, full_test: bool | None = None) -> dict:
    """Card fields for a 10-class network: accuracy on the shipped CIFAR-10 sample (`sample_acc`, `sample_images`)
    and, when `full_test` (default: when CIFAR-10 is on this machine), on the full test split (`test_acc`,
    `test_images`, `test_split` saying which copy). Other class counts get no measurement."""
    if model.config.num_classes != len(CIFAR10_CLASSES):
        return {}
    x, y = load_dataset("cifar10-sample", "test")
    out = {"sample_acc": accuracy(model, x, y), "sample_images": len(y), "sample": SAMPLE_DESCRIPTION}
    if full_test is None:
        full_test = on_disk("cifar10")
    if full_test:
        x, y = load_dataset("cifar10", "test")
        out.update(test_acc=accuracy(model, x, y), test_images=len(y), test_split=describe_split("cifar10", "test"))
    return out


def default_name(model, facts) -> str:
    """e.g. cifar10-resnet20-published or cifar10-plain56-dutta for a known published file, else
    cifar10-resnet20-imported-1a2b3c4d (the first 8 hex digits of the file's SHA-256)."""
    cfg = model.config
    data = "cifar10" if cfg.num_classes == 10 else f"classes{cfg.num_classes}"
    base = f"{data}-{'resnet' if cfg.skip else 'plain'}{cfg.depth}"
    known = KNOWN.get(facts["source_sha256"])
    if facts.get("origin") == "published" and known:
        return f"{base}-{known[3]['suffix']}"
    return f"{base}-imported-{facts['source_sha256'][:8]}"


def free_name(name: str, taken) -> str:
    """name when it is free, else name-2, name-3, ... (the first not in `taken`)."""
    taken, i = set(taken), 2
    if name not in taken:
        return name
    while f"{name}-{i}" in taken:
        i += 1
    return f"{name}-{i}"


def save(analysis: Analysis, name: str | None = None, zoo_dir=None, full_test: bool | None = None) -> dict:
    """Measure an analysed network and write it into the zoo with its card; returns the card.

    name: default `default_name`; zoo_dir: default `models.zoo.user_dir()`; full_test: also the full CIFAR-10 test
    split (default: when it is on this machine; about a minute for a ResNet-56 on 2 CPU cores).
    ValueError (then nothing is written) for a bad name or the name of a shipped model."""
    t0 = time.perf_counter()
    model, facts = analysis.model, analysis.facts
    name = zoo.check_name(name or default_name(model, facts))
    folder = Path(zoo_dir) if zoo_dir is not None else zoo.user_dir()
    if folder.resolve() != zoo.SHIPPED.resolve() and (zoo.SHIPPED / f"{name}.json").is_file():
        if zoo.read_card(zoo.SHIPPED / f"{name}.json").get("source_sha256") == facts["source_sha256"]:
            raise ValueError(f"This file is already shipped as {name} (the same SHA-256): nothing to import; give "
                             "another name to import a copy.")
        raise ValueError(f"{name} is the name of a shipped model; give the import another name.")
    card = {"name": name, "dataset": "cifar10" if model.config.num_classes == 10 else "unknown", **facts}
    if model.config.num_classes == 10:
        card["classes"] = list(CIFAR10_CLASSES)
    card.update(measure(model, full_test))
    if "reported_error" in card and "sample_acc" in card:
        card["sample_vs_reported_points"] = round(100 * (card["sample_acc"] - (1 - card["reported_error"])), 2)
    cfg = model.config
    card["command"] = (
        f"python -m models.zoo import {facts['source_file']} --name {name}"
        + (f" --zoo {zoo_dir}" if zoo_dir is not None else "")
        + f" --{'residual' if cfg.skip else 'plain'} --normalisation {_preset(cfg)}"
        + (f" --pad {cfg.pad} --downsample {cfg.downsample}" if cfg.skip and cfg.shortcut == "A" else "")
    )
    card["seconds"] = None
    card["import_seconds"] = round(time.perf_counter() - t0, 2)
    card["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    zoo.save(model, card, folder, name)
    return zoo.read_card(folder / f"{name}.json")


def _preset(cfg):
    from models.readings import FILE, NORMALISATIONS

    return next((k for k, (m, s, _) in NORMALISATIONS.items() if (m, s) == (cfg.mean, cfg.std)), FILE)


def import_bytes(data: bytes, filename: str, name: str | None = None, zoo_dir=None, *, full_test=None, **reading):
    """`analyse` then `save` (what the CLI calls): the card written next to `<name>.safetensors`. ValueError with one
    sentence; then nothing is written. reading: skip, pad, downsample, normalisation, progress (see `analyse`)."""
    return save(analyse(data, filename, **reading), name, zoo_dir, full_test)


def read_file(path) -> bytes:
    """A checkpoint file's bytes (its size checked before it is read); ValueError with a sentence."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file.")
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(
            f"{path.name} is {path.stat().st_size / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit "
            "(a CIFAR ResNet-1202, the deepest there is, takes about 78 MB)."
        )
    return path.read_bytes()


def import_file(path, name: str | None = None, zoo_dir=None, **kw) -> dict:
    """`import_bytes` on a file."""
    return import_bytes(read_file(path), Path(path).name, name, zoo_dir, **kw)
