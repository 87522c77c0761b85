"""What a checkpoint's shapes cannot tell, measured: the candidate readings of a `models.structure.Structure`.

Plain and option-A residual nets have identical tensors; option A puts its new zero channels at the end or on both
sides, and halves the resolution by subsampling or by a 2x2 average; the input normalisation is one of NORMALISATIONS
(unless the file stores its own). Each candidate reading is a ResNetConfig; `rank` evaluates them on the shipped exact
CIFAR-10 test images: every candidate on the first PRUNE images, the best KEEP on the first IMAGES. Readings within
TIE of the best accuracy are told apart by a second measurement made in the same pass: how well the statistics of
the activations entering each batch norm match the running statistics the network was trained with (the right
reading reproduces them; a wrong input scale or shortcut shifts them). The normalisation presets are first narrowed
to the two under which the first convolution's output matches its norm best (`likely_normalisations`).
"""

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from models.resnet import CIFAR10_MEAN, CIFAR10_STD, ResNet, ResNetConfig
from models.structure import load_into

NORMALISATIONS = {  # name: (mean, std, words) on RGB in [0, 1]
    "cifar10": (CIFAR10_MEAN, CIFAR10_STD, "CIFAR-10 normalisation (std 0.247, 0.243, 0.261)"),
    "cifar10-0.2023": (CIFAR10_MEAN, (0.2023, 0.1994, 0.2010), "CIFAR-10 normalisation (std 0.2023, 0.1994, 0.2010)"),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "ImageNet normalisation"),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "mean 0.5, std 0.5"),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "no normalisation (pixels in [0, 1])"),
}
FILE = "file"  # the reading uses the mean/std the file stores
PRUNE, IMAGES, KEEP = 32, 256, 2  # images for the first round, for the final one; readings kept for it
NEAR_CHANCE = 0.10  # refused when the best reading scores less than chance + 10 points
TRAIN_LIKE = 64  # images (the last of the sample) cropped as in training, for the norms' statistics
TIE = 0.02  # readings this close to the best accuracy are told apart by their norms' statistics


@dataclass(frozen=True)
class Reading:
    """One way to read the tensors: skip path or not, option A's padding and downsampling, input normalisation."""

    skip: bool
    pad: str = "end"
    downsample: str = "subsample"
    normalisation: str = "cifar10"

    def words(self, shortcut: str) -> str:
        """e.g. 'a residual net with 2x2-average shortcuts padded on both sides, CIFAR-10 normalisation (...)'."""
        norm = "the file's own normalisation" if self.normalisation == FILE else NORMALISATIONS[self.normalisation][2]
        if not self.skip:
            return f"a plain net, {norm}"
        if shortcut == "B":
            return f"a residual net with 1x1 projection shortcuts, {norm}"
        how = "2x2-average" if self.downsample == "average" else "subsampling"
        where = "on both sides" if self.pad == "both" else "at the end"
        return f"a residual net with {how} shortcuts padded {where}, {norm}"


def config(structure, reading: Reading) -> ResNetConfig:
    """The ResNetConfig of a structure read one way."""
    if reading.normalisation == FILE:
        mean, std = structure.mean, structure.std
    else:
        mean, std, _ = NORMALISATIONS[reading.normalisation]
        c = structure.in_channels
        mean, std = (mean, std) if c == 3 else (mean[:1] * c, std[:1] * c)
    return ResNetConfig(
        depth=structure.depth, skip=reading.skip, norm=structure.norm, shortcut=structure.shortcut,
        width=structure.width, in_channels=structure.in_channels, num_classes=structure.num_classes,
        mean=tuple(mean), std=tuple(std), pad=reading.pad, downsample=reading.downsample,
    )


def candidates(structure, skip=None, pad=None, downsample=None, normalisation=None) -> list[Reading]:
    """Every reading the structure allows, with the given choices fixed (None: try them all). A plain reading and
    an option-B one have no padding or downsampling to choose; option B is read as residual unless skip says not."""
    if normalisation is not None and normalisation not in NORMALISATIONS and normalisation != FILE:
        raise ValueError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, not {normalisation!r}.")
    if normalisation == FILE and structure.mean is None:
        raise ValueError("The file stores no input statistics ('mean', 'std'): name a normalisation preset instead.")
    norms = [normalisation] if normalisation else [FILE] if structure.mean is not None else list(NORMALISATIONS)
    skips = [skip] if skip is not None else [True] if structure.shortcut == "B" else [True, False]
    out = []
    for s in skips:
        free = s and structure.shortcut == "A"
        for p in [pad] if pad else ["end", "both"] if free else ["end"]:
            for d in [downsample] if downsample else ["subsample", "average"] if free else ["subsample"]:
                out += [Reading(s, p, d, n) for n in norms]
    return out


@dataclass
class Trial:
    """A reading and how it scored on `images` images: accuracy, mean cross-entropy, and `mismatch`, how far the
    batch statistics at its batch norms are from the running statistics stored with them (0: the same; nan
    without norms)."""

    reading: Reading
    accuracy: float
    loss: float
    mismatch: float
    images: int


def _mismatch(x, norm):
    """How far a batch (B, C, H, W) entering a BatchNorm is from its running statistics: the mean over channels of
    (batch mean - running mean)^2 / running var + log(batch var / running var)^2."""
    m, v = x.mean((0, 2, 3)), x.var((0, 2, 3)) + norm.eps
    rv = norm.running_var + norm.eps
    return float(((m - norm.running_mean) ** 2 / rv + torch.log(v / rv) ** 2).mean())


@torch.inference_mode()
def _score(model, x, y, x_train=None):
    """(accuracy, loss) on x (N, C, 32, 32) uint8, and the norms' mismatch on x_train (default x) as trained."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda mod, a: seen.append(_mismatch(a[0], mod)))
             for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    try:
        model(as_trained(x if x_train is None else x_train))
    finally:
        for h in hooks:
            h.remove()
    logits = model(x.float() / 255)
    mismatch = sum(seen) / len(seen) if seen else float("nan")
    return float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y)), mismatch


def as_trained(images, seed: int = 0):
    """images (N, C, 32, 32) uint8 -> floats in [0, 1] as a CIFAR training loop sees them, whose statistics the norms'
    running statistics hold: padded by 4 zero pixels, randomly cropped back to 32x32 and flipped (seeded)."""
    g = torch.Generator().manual_seed(seed)
    x = F.pad(images.float() / 255, (4, 4, 4, 4))
    dy, dx = torch.randint(0, 9, (2, len(images)), generator=g)
    flip = torch.rand(len(images), generator=g) < 0.5
    out = torch.stack([x[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32] for i in range(len(images))])
    out[flip] = out[flip].flip(-1)
    return out


@torch.inference_mode()
def likely_normalisations(structure, images, keep: int = 2) -> list[str]:
    """The `keep` presets under which the first convolution's output best matches the running statistics of its batch
    norm (one 3x3 convolution per preset: cheap); every preset for a network without norms.
    images: (N, C, 32, 32) uint8."""
    if structure.norm != "batch":
        return list(NORMALISATIONS)
    stem = ResNet(config(structure, Reading(True))).eval()
    load_into(stem, structure)
    score = {}
    for name in NORMALISATIONS:
        cfg = config(structure, Reading(True, normalisation=name))
        mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in (cfg.mean, cfg.std))
        score[name] = _mismatch(stem.conv((as_trained(images) - mean) / std), stem.bn)
    return sorted(score, key=score.get)[:keep]


def _best_first(trials):
    """Readings within TIE of the best accuracy (at least 2.5 images: a few images are noisy) are told apart by their
    norms' statistics (then by loss)."""
    top = max(t.accuracy for t in trials)
    near = [t for t in trials if t.accuracy >= top - max(TIE, 2.5 / t.images)]
    key = (lambda t: (t.mismatch, t.loss)) if all(t.mismatch == t.mismatch for t in near) else (lambda t: t.loss)
    return sorted(near, key=key) + sorted([t for t in trials if t not in near], key=lambda t: -t.accuracy)


def rank(structure, readings: list[Reading], images, labels, progress=None) -> list[Trial]:
    """The readings scored, best first: the final round's, then those pruned after the first.

    Args:
        structure: a Structure; readings: its candidates; images: (N, C, 32, 32) uint8; labels: (N,) int64.
        progress: called with (words, fraction done) as the rounds go.
    """
    say = progress or (lambda *_: None)
    models = {}  # one network per structural reading; the normalisations only change its mean/std buffers

    def build(r):
        key = replace(r, normalisation="")
        if key not in models:
            models[key] = load_into(ResNet(config(structure, r)).eval(), structure)
        m, cfg = models[key], config(structure, r)
        m.mean.copy_(torch.tensor(cfg.mean).view(1, -1, 1, 1))
        m.std.copy_(torch.tensor(cfg.std).view(1, -1, 1, 1))
        return m

    trials = []
    rounds = [(PRUNE, readings), (IMAGES, None)] if len(readings) > KEEP else [(IMAGES, readings)]
    for j, (n, todo) in enumerate(rounds):
        n = min(n, len(labels))
        if todo is None:  # the final round: the best KEEP of the first
            todo = [t.reading for t in _best_first(trials)[:KEEP]]
            trials = [t for t in trials if t.reading not in todo]
        say(f"Measuring {len(todo)} reading{'s' * (len(todo) > 1)} on {n} exact CIFAR-10 test images", j / len(rounds))
        x_train = images[-TRAIN_LIKE:]  # apart from the images scored: the norms' statistics on training-like crops
        trials = _best_first([Trial(r, *_score(build(r), images[:n], labels[:n], x_train), n) for r in todo]) + trials
    return trials
