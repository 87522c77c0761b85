"""Training: one loop for the CLI, the Train page and torchrun.

    python -m models.train --dataset shapes --depth 56 --no-skip --epochs 10 --out DIR
    torchrun --nproc_per_node 2 -m models.train --dataset shapes --depth 20 --epochs 10 --out DIR

In Python, nanoGPT style: a config (the network), a recipe (how to train it) and the data:

    res = train(ResNetConfig(depth=20), Recipe(epochs=10), load_data("shapes"), out="runs/r20")

SGD + momentum + weight decay, a one-cycle or cosine schedule (per step), He et al.'s augmentation, a per-epoch
history (CSV), a checkpoint each epoch (`DIR/checkpoint.safetensors`, resumable with `--resume`), a NaN/inf guard that
stops the run and keeps the last good checkpoint, and the zoo artefacts `DIR/<name>.safetensors` + `DIR/<name>.json` at
the end. Under torchrun each process takes its share of every global batch (DDP: gloo on CPU, nccl on GPU); rank 0
writes the files.
"""

import argparse
import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
import torch.nn.functional as F

from models import zoo
from models.data import augment, subset
from models.resnet import INITS, ResNet, ResNetConfig
from models.train_checkpoint import load_checkpoint, save_checkpoint
from models.train_data import Data, as_data, load_data  # noqa: F401 (as_data: part of train's interface)
from models.train_devices import MEMORY_FORMAT, all_sum, evaluate, hardware, setup

SCHEDULES = ("onecycle", "cosine")
PRECISIONS = ("fp32", "bf16")
CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.csv"
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"]


@dataclass(frozen=True)
class Recipe:
    epochs: int = 10
    batch_size: int = 128  # global batch (split across processes under torchrun)
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # "onecycle": 15% linear warm-up then cosine to 0 | "cosine"
    seed: int = 0  # the initial weights (the model's own generator), the batch order and the augmentation
    augment: bool = True
    limit: int | None = None  # train on `limit` images drawn at random with the seed (tiny runs)
    precision: str = "fp32"  # "fp32" | "bf16": forward and loss under bfloat16 autocast (about 1.6x faster on CPUs
    # with AVX512-BF16, bench/train.py); weights, optimizer and the test-set evaluation stay float32

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch size must be at least 1.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"the learning rate must be a positive number, not {self.lr}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}.")

    def lr_at(self, t, total):
        """Learning rate at step t of `total`."""
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * t / total))
        warm = max(1, int(0.15 * total))
        if t < warm:
            return self.lr * (0.04 + 0.96 * t / warm)
        return self.lr * 0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, total - warm)))


@dataclass
class TrainResult:
    model: ResNet  # the last good model (eval mode)
    status: str  # "done" | "stopped" | "diverged"
    message: str
    history: pd.DataFrame
    card: dict = field(default_factory=dict)
    out: Path | None = None


@dataclass(eq=False)
class _Run:
    """What one run carries between its steps: the model, the optimizer, this process's place, the history."""

    config: ResNetConfig
    recipe: Recipe
    data: Data
    x: torch.Tensor  # training images uint8 (N, 3, 32, 32), the recipe's limit applied
    y: torch.Tensor  # (N,)
    model: ResNet
    opt: torch.optim.Optimizer
    name: str
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    history: list = field(default_factory=list)
    seconds: float = 0.0
    changes: list = field(default_factory=list)  # recipe changes made when resuming
    ckpt: Path | None = None  # the run's checkpoint file, if it writes one

    @property
    def steps(self):
        return len(self.x) // self.recipe.batch_size


def _setup(config, recipe, data, name) -> _Run:
    """The run's model (initialised from the recipe's seed by the model's own generator, never torch's process-wide
    one: many Streamlit sessions train at once), optimizer and training images."""
    rank, world, device = setup()
    config = replace(config, mean=tuple(data.mean), std=tuple(data.std),
                     num_classes=max(int(data.train[1].max()) + 1, len(data.classes)))
    x, y = data.train
    if recipe.limit and len(x) > recipe.limit:  # a random subset: folders (and the CIFAR-10 JPEGs) load in class order
        keep = subset(len(x), int(recipe.limit), recipe.seed + 1)
        x, y = x[keep], y[keep]
    if world > 1 and recipe.batch_size % world:
        raise ValueError(f"batch size {recipe.batch_size} does not split evenly over {world} processes.")
    if len(x) < recipe.batch_size:
        raise ValueError(f"the training set has {len(x)} images, fewer than one batch of {recipe.batch_size}.")
    name = zoo.check_name(name or zoo.model_name(data.name, config))
    model = ResNet(config, seed=recipe.seed).to(device, memory_format=MEMORY_FORMAT)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    return _Run(config, recipe, data, x, y, model, opt, name, rank, world, device)


def _resume(r: _Run, ckpt: Path, progress: bool):
    """Continue from a checkpoint of the same architecture and data set; a changed recipe is allowed (more epochs,
    a gentler rate) but never silent: a note on stderr and `recipe_changes` on the card."""
    tensors, state = load_checkpoint(ckpt)
    if state["config"] != json.loads(json.dumps(asdict(r.config))) or state["dataset"] != r.data.name:
        raise ValueError(f"the checkpoint in {ckpt.parent} is for {state['dataset']} {state['config']}, not this run.")
    r.history, r.seconds = state["history"], state["seconds"]
    start = state["epoch"]
    saved = {**asdict(Recipe()), **state.get("recipe", {})}  # older checkpoints predate `precision`: fp32
    changed = {k: [saved.get(k), v] for k, v in asdict(r.recipe).items() if saved.get(k) != v}
    r.changes = [*state.get("recipe_changes", []), *([{"after_epoch": start, "changed": changed}] if changed else [])]
    if changed and progress and r.rank == 0:
        print(f"note: resuming after epoch {start} with a changed recipe ("
              + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items()) + "); the card records it.",
              file=sys.stderr, flush=True)
    r.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for i, p in enumerate(r.opt.param_groups[0]["params"]):
        if f"momentum.{i}" in tensors:
            r.opt.state[p]["momentum_buffer"] = tensors[f"momentum.{i}"].to(r.device)
    return start


def _epoch(r: _Run, net, epoch: int, callback, bar):
    """One pass over the training images. Returns (status "ok" | "stopped" | "diverged", message,
    (loss sum, correct, count) float64 (3,), the last learning rate)."""
    rec, steps, bs, dev = r.recipe, r.steps, r.recipe.batch_size, r.device
    perm = torch.randperm(len(r.x), generator=torch.Generator().manual_seed(rec.seed * 100_003 + epoch))
    ga = torch.Generator().manual_seed(rec.seed * 100_003 + epoch + 7919 * (r.rank + 1))
    r.model.train()
    run = torch.zeros(3, dtype=torch.float64, device=dev)  # loss sum, correct, count
    lr = rec.lr
    for s in range(steps):
        idx = perm[s * bs : (s + 1) * bs][r.rank :: r.world]  # this process's share
        x = augment(r.x[idx], ga) if rec.augment else r.x[idx]
        x, y = x.to(dev).float().div_(255).contiguous(memory_format=MEMORY_FORMAT), r.y[idx].to(dev)
        lr = rec.lr_at(epoch * steps + s, rec.epochs * steps)
        for group in r.opt.param_groups:
            group["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=rec.precision == "bf16"):
            logits = net(x)
            loss = F.cross_entropy(logits, y)
        stats = all_sum(torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                  torch.tensor(float(len(y)), dtype=torch.float64, device=dev)]), r.world)
        if not math.isfinite(stats[0].item()):
            return "diverged", _diverged(r, stats[0].item() / stats[2].item(), epoch, s, lr), run, lr
        r.opt.zero_grad(set_to_none=True)
        loss.backward()
        r.opt.step()
        run += stats
        if bar:
            bar.update(1)
            n = run[2].item()
            bar.set_postfix(loss=f"{run[0].item() / n:.3f}", acc=f"{run[1].item() / n:.3f}", refresh=False)
        stop = False
        if callback and r.rank == 0:
            stop = bool(callback({"event": "step", "epoch": epoch + 1, "step": s + 1, "steps": steps, "lr": lr,
                                  "loss": stats[0].item() / stats[2].item(), "acc": stats[1].item() / stats[2].item()}))
        if r.world > 1:
            stop = all_sum(torch.tensor([float(stop)], device=dev), r.world).item() > 0
        if stop:
            kept = f"Stopped during epoch {epoch + 1}; the model after epoch {len(r.history)} is kept."
            return "stopped", kept, run, lr
    return "ok", "", run, lr


def _diverged(r: _Run, loss, epoch, s, lr) -> str:
    where = f"epoch {epoch + 1}, step {s + 1} of {r.steps} (learning rate {lr:.3g})"
    kept = (f"the last good checkpoint (after epoch {len(r.history)}) is kept"
            + (f" in {r.ckpt}" if r.ckpt and r.ckpt.exists() else "") if r.history else
            "no epoch had finished, so there is no checkpoint to keep")
    return (f"Training stopped: the loss became {loss} at {where}. The run diverged; {kept}. "
            "Try a smaller learning rate.")


def _card(r: _Run, status: str, command: str | None) -> dict:
    """The zoo card: data set, recipe, last epoch's numbers, the whole history."""
    last = r.history[-1] if r.history else {}
    return {
        "name": r.name,
        "dataset": r.data.name,
        "classes": [*r.data.classes] if r.data.classes else None,
        **({"data_path": r.data.path} if r.data.path else {}),
        "test_images": len(r.data.test[0]),
        "epochs": len(r.history),
        **{k: last.get(k) for k in ("test_acc", "test_loss", "train_acc", "train_loss")},
        "seconds": round(r.seconds, 1),
        "hardware": hardware(r.world, r.device),
        "command": command or f"train({r.config!r}, {r.recipe!r}, load_data({r.data.path or r.data.name!r}))",
        "recipe": asdict(r.recipe),
        **({"recipe_changes": r.changes} if r.changes else {}),
        "status": status,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "history": [*r.history],
    }


def _end_epoch(r: _Run, epoch, run, lr, out, zoo_dir, callback, progress, command) -> bool:
    """Evaluate, record the epoch and save (rank 0); True when the callback asks to stop."""
    if r.world > 1:  # BN running stats differ per process after the last step: evaluate (and save) rank 0's
        for b in r.model.buffers():
            dist.broadcast(b, 0)
    test_loss, test_acc = evaluate(r.model, *r.data.test, r.device, r.rank, r.world)
    loss_sum, correct, n = run.tolist()
    row = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n, "test_loss": test_loss,
           "test_acc": test_acc, "lr": lr, "seconds": round(r.seconds, 2)}
    r.history.append(row)
    stop = False
    if r.rank == 0:
        if out:
            out.mkdir(parents=True, exist_ok=True)
            state = {"epoch": epoch + 1, "history": r.history, "seconds": r.seconds, "config": asdict(r.config),
                     "dataset": r.data.name, "recipe": asdict(r.recipe), "recipe_changes": r.changes}
            save_checkpoint(out / CHECKPOINT, r.model, r.opt, state)
            pd.DataFrame(r.history, columns=HISTORY_COLUMNS).to_csv(out / HISTORY, index=False)
        if progress:
            print(f"{r.name} epoch {epoch + 1}/{r.recipe.epochs}: train loss {row['train_loss']:.4f} "
                  f"acc {row['train_acc']:.4f} | test loss {test_loss:.4f} acc {test_acc:.4f} | {r.seconds:.0f}s",
                  file=sys.stderr, flush=True)
        if zoo_dir:  # saved after every epoch, so a run interrupted from outside keeps its last epoch
            zoo.save(r.model, _card(r, "running" if epoch + 1 < r.recipe.epochs else "done", command), zoo_dir, r.name)
        stop = bool(callback and callback({"event": "epoch", **row}))
    if r.world > 1:
        stop = all_sum(torch.tensor([float(stop)], device=r.device), r.world).item() > 0
    return stop


def _first_epoch(r, out, resume, progress) -> int:
    """0, or the epoch a resumed run continues from (ValueError when `out` holds a checkpoint and resume is off)."""
    r.ckpt = out / CHECKPOINT if out else None
    if r.ckpt is None or not r.ckpt.exists():
        return 0
    if not resume:
        raise ValueError(f"{out} already holds a checkpoint: pass resume (--resume) to continue it, or choose a new folder.")
    return _resume(r, r.ckpt, progress)


def _bar(r, epoch, epochs):
    from tqdm import tqdm

    return tqdm(total=r.steps, desc=f"{r.name} epoch {epoch + 1}/{epochs}", leave=False, mininterval=2, file=sys.stderr)


def train(config: ResNetConfig, recipe: Recipe, data: Data, *, out=None, name=None, resume=False, callback=None,
          progress=False, command=None, zoo_dir=None) -> TrainResult:
    """Train a ResNet on a data set.

    Args:
        config: the architecture; its mean/std/num_classes are set from the data.
        recipe: how to train it (epochs, batch size, learning rate and schedule, seed, limit, precision).
        data: a Data (load_data or as_data).
        out: folder for checkpoint.safetensors, history.csv and the zoo files (None: write nothing).
        name: zoo name (default `{dataset}-{resnet|plain}{depth}`).
        resume: continue from `out/checkpoint.safetensors` (same architecture and data set).
        callback: called as callback(event: dict) after each step ({"event": "step", epoch, step, steps,
            loss, acc, lr}) and each epoch ({"event": "epoch", **history row}); return True to stop.
        progress: a progress bar and a line per epoch on stderr.
        command: the card's `command` (default: this call).
        zoo_dir: also save `<name>.safetensors/.json` there after every epoch (the Train page's user zoo).
    Returns:
        TrainResult(model, status, message, history, card, out). status "diverged" when the loss
        became NaN/inf: the model and the files are those of the last good epoch.
    """
    r = _setup(config, recipe, data, name)
    out = Path(out) if out else None
    start = _first_epoch(r, out, resume, progress)
    good = copy.deepcopy(r.model.state_dict())
    net = torch.nn.parallel.DistributedDataParallel(r.model) if r.world > 1 else r.model
    status, message = "done", ""
    for epoch in range(start, recipe.epochs):
        t0 = time.perf_counter()
        bar = _bar(r, epoch, recipe.epochs) if progress and r.rank == 0 else None
        status, message, run, lr = _epoch(r, net, epoch, callback, bar)
        if bar:
            bar.close()
        if status != "ok":
            r.model.load_state_dict(good)
            break
        r.seconds += time.perf_counter() - t0  # training time only; evaluation is not counted
        stopped = _end_epoch(r, epoch, run, lr, out, zoo_dir, callback, progress, command)
        good = copy.deepcopy(r.model.state_dict())
        status = "done"
        if stopped:
            status, message = "stopped", f"Stopped after epoch {epoch + 1}."
            break
    r.model.eval()
    card = _card(r, status, command)
    if status == "done":
        n = len(r.history)
        message = (f"Trained {r.name} for {n} epoch{'s' * (n != 1)} in {r.seconds:.0f} s: test accuracy "
                   f"{r.history[-1]['test_acc']:.2%}.")
    if r.rank == 0 and r.history:
        for folder in (out, zoo_dir):
            if folder:
                zoo.save(r.model, card, folder, r.name)  # after divergence: the last good epoch's model
    history = pd.DataFrame(r.history, columns=HISTORY_COLUMNS)
    return TrainResult(model=r.model, status=status, message=message, history=history, card=card, out=out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.train", description="Train a CIFAR-style ResNet (or its plain twin).")
    ap.add_argument("--dataset", default="shapes", help="shapes | cifar10 | path of an image folder")
    ap.add_argument("--depth", type=int, default=20, help="6n+2: 8, 20, 56, 110, ...")
    ap.add_argument("--skip", action=argparse.BooleanOptionalAction, default=True, help="residual (default) or --no-skip (plain)")
    ap.add_argument("--norm", default="batch", choices=["batch", "none"])
    ap.add_argument("--shortcut", default="A", choices=["A", "B"])
    ap.add_argument("--init", default="kaiming", choices=list(INITS))
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", type=float, default=5e-4, help="weight decay")
    ap.add_argument("--schedule", default="onecycle", choices=SCHEDULES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS, help="bf16: mixed precision (bfloat16 autocast)")
    ap.add_argument("--limit", type=int, default=None, help="train on N training images drawn at random with the seed")
    ap.add_argument("--out", required=True, help="folder for checkpoint, history.csv and <name>.safetensors/.json")
    ap.add_argument("--name", default=None, help="zoo name (default {dataset}-{resnet|plain}{depth})")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    ap.add_argument("--root", default=None, help="data folder (default $SKIPLAB_DATA or ~/.cache/skiplab)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    prefix = f"torchrun --nproc_per_node {world} -m models.train" if world > 1 else "python -m models.train"
    command = " ".join([prefix, *(argv if argv is not None else sys.argv[1:])])
    try:
        config = ResNetConfig(depth=a.depth, skip=a.skip, norm=a.norm, shortcut=a.shortcut, init=a.init, width=a.width)
        recipe = Recipe(a.epochs, a.batch_size, a.lr, a.momentum, a.wd, a.schedule, a.seed, not a.no_augment, a.limit,
                        a.precision)
        res = train(config, recipe, load_data(a.dataset, root=a.root), out=a.out, name=a.name, resume=a.resume,
                    progress=not a.quiet, command=command)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    if rank == 0:
        print(res.message, file=sys.stderr if res.status == "diverged" else sys.stdout, flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()
    return {"done": 0, "stopped": 0, "diverged": 2}[res.status]


if __name__ == "__main__":
    sys.exit(main())
