"""Training: one loop for the CLI, the Train page and torchrun.

    python -m models.train --dataset shapes --depth 56 --no-skip --epochs 10 --out DIR
    torchrun --nproc_per_node 2 -m models.train --dataset shapes --depth 20 --epochs 10 --out DIR

SGD + momentum + weight decay, a one-cycle or cosine schedule (per step), He et al.'s augmentation,
a per-epoch history (CSV), a checkpoint each epoch (`DIR/checkpoint.safetensors`, resumable with
`--resume`), a NaN/inf guard that stops the run and keeps the last good checkpoint, and the zoo
artefacts `DIR/<name>.safetensors` + `DIR/<name>.json` at the end. Under torchrun each process
takes its share of every global batch (DDP: gloo on CPU, nccl on GPU); rank 0 writes the files.
"""

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from models import zoo
from models.data import augment, dataset_info, load_dataset, subset
from models.resnet import ResNet, ResNetConfig

SCHEDULES = ("onecycle", "cosine")
PRECISIONS = ("fp32", "bf16")
CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.csv"
MEMORY_FORMAT = torch.channels_last  # NHWC: about 1.2-1.4x faster convolutions on CPU here (bench/train.py)
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"]


@dataclass(frozen=True)
class Recipe:
    epochs: int = 10
    batch_size: int = 128  # global batch (split across processes under torchrun)
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # "onecycle": 15% linear warm-up then cosine to 0 | "cosine"
    seed: int = 0
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


class Diverged(RuntimeError):
    pass


def _dist():
    """(rank, world, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _sum(t, world):
    if world > 1:
        dist.all_reduce(t)
    return t


def hardware(world, device):
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    return f"{what}; {world} process(es) x {torch.get_num_threads()} thread(s); torch {torch.__version__}"


@torch.no_grad()
def evaluate(model, images, labels, device, rank=0, world=1, batch=500):
    """Mean loss and accuracy over (images uint8 (N, 3, 32, 32), labels (N,)); each process takes a shard."""
    was = model.training
    model.eval()
    xs, ys = images[rank::world], labels[rank::world]
    tot = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count
    for i in range(0, len(xs), batch):
        x = xs[i : i + batch].to(device).float().div_(255).contiguous(memory_format=MEMORY_FORMAT)
        y = ys[i : i + batch].to(device)
        out = model(x)
        tot += torch.stack([F.cross_entropy(out, y, reduction="sum").double(), (out.argmax(1) == y).sum().double(), torch.tensor(len(y), dtype=torch.float64, device=device)])
    model.train(was)
    loss, correct, n = _sum(tot, world).tolist()
    return loss / max(n, 1), correct / max(n, 1)


def _save_checkpoint(path, model, opt, state):
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        buf = opt.state.get(p, {}).get("momentum_buffer")
        if buf is not None:
            tensors[f"momentum.{i}"] = buf.detach().cpu().contiguous()
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"state": json.dumps(state)})
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written checkpoint


def load_checkpoint(path):
    """(tensors, state dict) of a training checkpoint; ValueError if unreadable."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path)), json.loads(meta["state"])
    except (SafetensorError, OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path} is not a readable skiplab checkpoint ({e}).") from e


def train(
    config: ResNetConfig,
    dataset: str = "shapes",
    epochs: int = 10,
    *,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    schedule="onecycle",
    seed=0,
    augment_data=True,
    limit=None,
    precision="fp32",
    out=None,
    name=None,
    resume=False,
    callback=None,
    progress=False,
    command=None,
    root=None,
    data=None,
    zoo_dir=None,
    test_limit=None,
    classes=None,
) -> TrainResult:
    """Train a ResNet on a data set.

    Args:
        config: the architecture; its mean/std/num_classes are set from the data set.
        dataset: "shapes", "cifar10" or an ImageFolder path (see models.data.load_dataset).
        epochs, batch_size, lr, momentum, weight_decay, schedule, seed, augment_data, limit, precision: the recipe.
        out: folder for checkpoint.safetensors, history.csv and the zoo files (None: write nothing).
        name: zoo name (default `{dataset}-{resnet|plain}{depth}`).
        resume: continue from `out/checkpoint.safetensors` (same architecture and data set).
        callback: called as callback(event: dict) after each step ({"event": "step", epoch, step, steps,
            loss, acc, lr}) and each epoch ({"event": "epoch", **history row}); return True to stop.
        data: optional ((train_x, train_y), (test_x, test_y)) uint8/int64 tensors instead of loading.
        zoo_dir: also save `<name>.safetensors/.json` there after every epoch (the Train page's user zoo).
        test_limit: evaluate on at most this many test images, a random subset of the test split, the same for every
            epoch and every run (seed 0, not the run's seed, so runs stay comparable; a folder's test split is in
            class order, so its first N would miss classes).
        classes: class names for the card when `data` is given for an image folder (else read from the data set).
    Returns:
        TrainResult(model, status, message, history, card, out). status "diverged" when the loss
        became NaN/inf: the model and the files are those of the last good epoch.
    """
    recipe = Recipe(epochs, batch_size, lr, momentum, weight_decay, schedule, seed, augment_data, limit, precision)
    rank, world, device = _dist()
    info = dataset_info(dataset, root) if data is None or dataset in ("shapes", "cifar10") else None
    if data is None:
        data = (load_dataset(dataset, "train", root=root), load_dataset(dataset, "test", root=root))
    (xtr, ytr), (xte, yte) = data
    if test_limit and len(xte) > test_limit:
        keep = subset(len(xte), int(test_limit), 0)
        xte, yte = xte[keep], yte[keep]
    if info is None:
        x = xtr.float() / 255
        info_mean, info_std = tuple(x.mean((0, 2, 3)).tolist()), tuple(x.std((0, 2, 3)).clamp_min(1e-3).tolist())
        ds_name, n_classes = Path(str(dataset)).name, max(int(ytr.max()) + 1, len(classes or ()))
    else:
        info_mean, info_std, ds_name, n_classes = info.mean, info.std, info.name, len(info.classes)
    config = replace(config, mean=tuple(info_mean), std=tuple(info_std), num_classes=n_classes)
    if limit and len(xtr) > limit:  # a random subset: folders (and the CIFAR-10 JPEG copy) load in class order
        keep = subset(len(xtr), int(limit), seed + 1)
        xtr, ytr = xtr[keep], ytr[keep]
    if world > 1 and batch_size % world:
        raise ValueError(f"batch size {batch_size} does not split evenly over {world} processes.")
    steps = len(xtr) // batch_size
    if steps < 1:
        raise ValueError(f"the training set has {len(xtr)} images, fewer than one batch of {batch_size}.")
    name = zoo.check_name(name or zoo.model_name(ds_name, config))
    out = Path(out) if out else None
    ckpt = out / CHECKPOINT if out else None

    def make_card(status):
        last = history[-1] if history else {}
        return {
            "name": name,
            "dataset": ds_name,
            "classes": [*info.classes] if info else [*classes] if classes else None,
            **({"data_path": str(Path(str(dataset)).expanduser().resolve())} if str(dataset) not in ("shapes", "cifar10") else {}),
            "test_images": len(xte),
            "epochs": len(history),
            "test_acc": last.get("test_acc"),
            "test_loss": last.get("test_loss"),
            "train_acc": last.get("train_acc"),
            "train_loss": last.get("train_loss"),
            "seconds": round(seconds, 1),
            "hardware": hardware(world, device),
            "command": command or f"models.train.train({config!r}, {dataset!r}, {epochs})",
            "recipe": asdict(recipe),
            **({"recipe_changes": changes} if changes else {}),
            "status": status,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "history": [*history],
        }

    torch.manual_seed(seed)
    model = ResNet(config).to(device, memory_format=MEMORY_FORMAT)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    history, start, seconds, changes = [], 0, 0.0, []  # changes: recipe changes made when resuming
    if ckpt is not None and ckpt.exists():
        if not resume:
            raise ValueError(f"{out} already holds a checkpoint: pass resume (--resume) to continue it, or choose a new folder.")
        tensors, state = load_checkpoint(ckpt)
        if state["config"] != json.loads(json.dumps(asdict(config))) or state["dataset"] != ds_name:
            raise ValueError(f"the checkpoint in {out} is for {state['dataset']} {state['config']}, not this run.")
        history, start, seconds = state["history"], state["epoch"], state["seconds"]
        saved = {**asdict(Recipe()), **state.get("recipe", {})}  # older checkpoints predate `precision`: fp32
        changed = {k: [saved.get(k), v] for k, v in asdict(recipe).items() if saved.get(k) != v}
        changes = [*state.get("recipe_changes", []), *([{"after_epoch": start, "changed": changed}] if changed else [])]
        if changed and progress and rank == 0:  # allowed (more epochs, a gentler rate), but never silent
            print(f"note: resuming after epoch {start} with a changed recipe ("
                  + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items()) + "); the card records it.",
                  file=sys.stderr, flush=True)
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        for i, p in enumerate(opt.param_groups[0]["params"]):
            if f"momentum.{i}" in tensors:
                opt.state[p]["momentum_buffer"] = tensors[f"momentum.{i}"].to(device)
    good = copy.deepcopy(model.state_dict())
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    status, message = "done", ""
    total = epochs * steps
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(seed * 100_003 + epoch)
        perm = torch.randperm(len(xtr), generator=g)
        ga = torch.Generator().manual_seed(seed * 100_003 + epoch + 7919 * (rank + 1))
        model.train()
        run = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count
        bar = None
        if progress and rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=steps, desc=f"{name} epoch {epoch + 1}/{epochs}", leave=False, mininterval=2, file=sys.stderr)
        stop = False
        for s in range(steps):
            idx = perm[s * batch_size : (s + 1) * batch_size][rank::world]  # this process's share
            x = xtr[idx]
            x = augment(x, ga) if augment_data else x
            x, y = x.to(device).float().div_(255).contiguous(memory_format=MEMORY_FORMAT), ytr[idx].to(device)
            lr_now = recipe.lr_at(epoch * steps + s, total)
            for group in opt.param_groups:
                group["lr"] = lr_now
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = net(x)
                loss = F.cross_entropy(logits, y)
            stats = torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(), torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
            _sum(stats, world)
            if not math.isfinite(stats[0].item()):
                status = "diverged"
                where = f"epoch {epoch + 1}, step {s + 1} of {steps} (learning rate {lr_now:.3g})"
                kept = (f"the last good checkpoint (after epoch {len(history)}) is kept" + (f" in {ckpt}" if ckpt and ckpt.exists() else "")
                        if history else "no epoch had finished, so there is no checkpoint to keep")
                message = f"Training stopped: the loss became {stats[0].item() / len(y)} at {where}. The run diverged; {kept}. Try a smaller learning rate."
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run += stats
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{run[0].item() / run[2].item():.3f}", acc=f"{run[1].item() / run[2].item():.3f}", refresh=False)
            if callback and rank == 0:
                ev = {"event": "step", "epoch": epoch + 1, "step": s + 1, "steps": steps, "loss": stats[0].item() / stats[2].item(), "acc": stats[1].item() / stats[2].item(), "lr": lr_now}
                stop = bool(callback(ev))
            if world > 1:
                flag = _sum(torch.tensor([float(stop)], device=device), world)
                stop = flag.item() > 0
            if stop:
                break
        if bar:
            bar.close()
        if status == "diverged" or stop:
            if stop:
                status = "stopped"
                message = f"Stopped during epoch {epoch + 1}; the model after epoch {len(history)} is kept."
            model.load_state_dict(good)
            break
        seconds += time.perf_counter() - t0  # training time only; evaluation below is not counted
        if world > 1:  # BN running stats differ per process after the last step: evaluate (and save) rank 0's
            for b in model.buffers():
                dist.broadcast(b, 0)
        test_loss, test_acc = evaluate(model, xte, yte, device, rank, world)
        loss_sum, correct, n = run.tolist()
        row = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n, "test_loss": test_loss, "test_acc": test_acc, "lr": lr_now, "seconds": round(seconds, 2)}
        history.append(row)
        good = copy.deepcopy(model.state_dict())
        if rank == 0:
            if ckpt:
                out.mkdir(parents=True, exist_ok=True)
                state = {"epoch": epoch + 1, "history": history, "seconds": seconds, "config": asdict(config), "dataset": ds_name, "recipe": asdict(recipe), "recipe_changes": changes}
                _save_checkpoint(ckpt, model, opt, state)
                pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(out / HISTORY, index=False)
            if progress:
                print(f"{name} epoch {epoch + 1}/{epochs}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | test loss {test_loss:.4f} acc {test_acc:.4f} | {seconds:.0f}s", file=sys.stderr, flush=True)
            if zoo_dir:  # saved after every epoch, so a run interrupted from outside keeps its last epoch
                zoo.save(model, make_card("running" if epoch + 1 < epochs else "done"), zoo_dir, name)
            if callback and callback({"event": "epoch", **row}):
                status, message = "stopped", f"Stopped after epoch {epoch + 1}."
        if world > 1:
            flag = _sum(torch.tensor([float(status == "stopped")], device=device), world)
            status = "stopped" if flag.item() > 0 else status
        if status == "stopped":
            break
    model.eval()
    hist = pd.DataFrame(history, columns=HISTORY_COLUMNS)
    last = history[-1] if history else {}
    card = make_card(status)
    if status == "done":
        message = f"Trained {name} for {len(history)} epochs in {seconds:.0f} s: test accuracy {last['test_acc']:.2%}."
    if rank == 0 and history:
        for folder in (out, zoo_dir):
            if folder:
                zoo.save(model, card, folder, name)  # after divergence: the last good epoch's model
    return TrainResult(model=model, status=status, message=message, history=hist, card=card, out=out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.train", description="Train a CIFAR-style ResNet (or its plain twin).")
    ap.add_argument("--dataset", default="shapes", help="shapes | cifar10 | path of an image folder")
    ap.add_argument("--depth", type=int, default=20, help="6n+2: 8, 20, 56, 110, ...")
    ap.add_argument("--skip", action=argparse.BooleanOptionalAction, default=True, help="residual (default) or --no-skip (plain)")
    ap.add_argument("--norm", default="batch", choices=["batch", "none"])
    ap.add_argument("--shortcut", default="A", choices=["A", "B"])
    ap.add_argument("--init", default="kaiming", choices=["kaiming", "xavier", "zero_residual"])
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
        res = train(
            config, a.dataset, a.epochs, batch_size=a.batch_size, lr=a.lr, momentum=a.momentum, weight_decay=a.wd,
            schedule=a.schedule, seed=a.seed, augment_data=not a.no_augment, limit=a.limit, precision=a.precision, out=a.out, name=a.name,
            resume=a.resume, progress=not a.quiet, command=command, root=a.root,
        )
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
