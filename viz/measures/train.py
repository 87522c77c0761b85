"""What the Train page measures and says, without plotting: the live run's events as tables, the names and labels of
a run's models, and the page's messages (a missing data set, an imported checkpoint), each computed from its facts."""

import time
from pathlib import Path

import pandas as pd

from models import registry
from viz.words import pct

CHECKPOINTS = ["safetensors", "th", "pt", "pth"]  # what the Train page's upload takes (models.imports.SUFFIXES)
STEP_COLUMNS = ["name", "skip", "x", "loss", "acc"]
EPOCH_COLUMNS = ["name", "skip", "epoch", "test_loss", "test_acc"]
METHOD = ("SGD, momentum 0.9, weight decay 5e-4, pad-4 random crops and flips; test accuracy after each epoch on up to "
          "{test:,} test images (a random subset across all classes, the same for every epoch and run). Saved to the "
          "user zoo at {zoo} under a time-stamped name.")


class Recorder:
    """Collects the training loop's events (models.train.train's callback dicts) as tables for the curves.

    Per-batch loss and accuracy are smoothed with an exponential moving average (0.8 old, 0.2 new), since a
    single batch is noisy; `x` is the fractional epoch (epoch 1, step 5 of 10 -> 0.5)."""

    def __init__(self):
        self.steps, self.hist, self.ema = [], [], {}

    def step(self, label: str, skip: bool, ev: dict):
        x = ev["epoch"] - 1 + ev["step"] / ev["steps"]
        old = self.ema.get(label, (ev["loss"], ev["acc"]))
        self.ema[label] = tuple(0.8 * o + 0.2 * v for o, v in zip(old, (ev["loss"], ev["acc"]), strict=True))
        self.steps.append((label, skip, x, *self.ema[label]))

    def epoch(self, label: str, skip: bool, ev: dict):
        self.hist.append({"name": label, "skip": skip, **{k: ev[k] for k in ("epoch", "test_loss", "test_acc")}})

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(steps: a row per batch, epochs: a row per finished epoch and network)."""
        return pd.DataFrame(self.steps, columns=STEP_COLUMNS), pd.DataFrame(self.hist, columns=EPOCH_COLUMNS)


def progress(i: int, n_runs: int, epochs: int, ev: dict) -> float:
    """The share of the whole job done at event ev of run i (of n_runs, each `epochs` long), in [0, 1]."""
    steps = ev.get("steps", 1)
    return min(1.0, (i + (ev["epoch"] - 1 + ev.get("step", steps) / steps) / epochs) / n_runs)


class TimeLeft:
    """The time left of a run: the steps' rate measured since the first step report (the start-up before it does not
    count) times the share still to do, plus the evaluations still to come at the measured time of one (0 until
    one has been timed).

    The page calls `seconds`/`words` at every step event and `evaluated()` at every epoch event (the epoch's
    test-set evaluation just ended). `clock` returns seconds (time.perf_counter by default; a test passes a fake)."""

    def __init__(self, clock=time.perf_counter):
        self.clock, self.first, self.last_step, self.evals = clock, None, None, []

    def evaluated(self):
        """An epoch's evaluation ended: its time is the gap since the last step report."""
        if self.last_step is not None:
            self.evals.append(self.clock() - self.last_step)

    def seconds(self, done: float, evals_left: int = 0) -> float | None:
        """Seconds left at share `done` in [0, 1] of the steps with `evals_left` evaluations to come; None until two
        step reports are apart."""
        now = self.last_step = self.clock()
        if self.first is None:
            self.first = (now, done)
            return None
        t0, d0 = self.first
        if done <= d0:
            return None
        per_share = (now - t0 - sum(self.evals)) / (done - d0)
        return per_share * (1 - done) + (sum(self.evals) / len(self.evals) if self.evals else 0.0) * evals_left

    def words(self, done: float, evals_left: int = 0) -> str:
        """", about 20 s left" or ", about 3 min left" ("" while there is nothing to say)."""
        left = self.seconds(done, evals_left)
        if left is None or (done >= 1 and not evals_left):
            return ""
        return f", about {left:.0f} s left" if left < 90 else f", about {left / 60:.0f} min left"


def mean_training_error(h: pd.DataFrame) -> pd.Series:
    """Each model's training error (%) averaged over its epochs: the one statistic of the degradation chart's
    headline and of the lesson's step 3. h: models.zoo.histories (a row per model and epoch)."""
    return h.groupby("name").train_error.mean()


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def run(dataset: str, skip: bool, depth: int, stamp: str, clock: str) -> dict:
    """One network of a Train-page run: its zoo `name` (time-stamped, e.g. shapes-resnet8-20261201-120300), its
    chart `label` (ResNet-8) and `yours`, how the page names it to the user who trained it (yours: ResNet-8, 12:03)."""
    tag = dataset if registry.dataset(dataset).built_in else "folder"
    label = f"{'ResNet' if skip else 'plain'}-{depth}"
    return {"name": f"{tag}-{'resnet' if skip else 'plain'}{depth}-{stamp}", "label": label,
            "yours": f"yours: {label}, {clock}", "skip": skip, "epochs": 0}


def outcome(run: dict, status: str, message: str) -> str:
    """What the page says when one network's training ended (models.train.train's status and message)."""
    if status == "diverged":
        kept = f" Saved after epoch {run['epochs']} as {run['yours']}." if run["epochs"] else ""
        return f"{run['label']}: {message}{kept}"
    return f"{run['label']}: {message} Saved as **{run['yours']}** ({run['name']})."


def stopped(runs: list) -> str:
    """What a stopped run kept."""
    done = [r for r in runs if r["epochs"]]
    return "Stopped. " + ("; ".join(f"{r['yours']} saved after {plural(r['epochs'], 'epoch')}" for r in done) if done
                          else "No epoch had finished, so nothing was saved.")


def missing_data(dataset: str, root) -> str:
    """What a user reads when the chosen data set is not on this machine: what to do, in a user's words."""
    if registry.dataset(dataset).cifar:
        return ("CIFAR-10 not found on this machine, so the page cannot train on it yet. Fetch it once (170 MB) with "
                "`python -m models.data --download` in the skiplab folder, or unpack the course's copy with "
                f"`tar xzf cifar10-jpg.tar.gz -C {root}`; then press Train again. The built-in shapes need nothing.")
    return (f"There is no image folder at {Path(str(dataset))} on this machine. Give the path of a folder on the "
            "server with one sub-folder of images per class (or train/ and test/ holding those).")


def imported(card: dict) -> str:
    """What an imported checkpoint's card says, in one sentence: its name and its accuracy on the shipped sample."""
    if card.get("sample_acc") is not None:
        return (f"Imported as **{card['name']}**: {pct(card['sample_acc'])} right on {card['sample_images']} CIFAR-10 "
                "test images (the shipped sample).")
    n = card["config"]["num_classes"]
    return f"Imported as **{card['name']}** ({n} classes, not CIFAR-10's: not measured here)."


FIG6 = [(False, 20), (False, 56), (True, 20), (True, 56)]  # He et al. Fig. 6: plain-20/56, ResNet-20/56


def fig6_name(dataset: str, skip: bool, depth: int) -> str:
    """The shipped model of He et al.'s Fig. 6 for a data set, e.g. cifar10-plain56."""
    return f"{dataset}-{'resnet' if skip else 'plain'}{depth}"


def degradation_sets(catalog: pd.DataFrame) -> tuple[list, str | None]:
    """The data sets with at least one shipped Fig. 6 model (plain/ResNet-20/56), the generated one (shapes) first,
    and the one to show by default: CIFAR-10 once all four of its models are shipped, else shapes, else the first.
    catalog: `zoo.list()` or the session's catalog (columns name, dataset, source)."""
    shipped = set(catalog.name[catalog.source == "shipped"])
    have = {d: sum(fig6_name(d, s, n) in shipped for s, n in FIG6) for d in catalog.dataset.dropna().unique()}
    sets = sorted((d for d, k in have.items() if k), key=lambda d: (not registry.dataset(d).generated, d))
    fit = [d for d in sets if have[d] == len(FIG6) or registry.dataset(d).generated]
    return sets, registry.opening_dataset(fit) or (sets or [None])[0]
