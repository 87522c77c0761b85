"""Where a training run computes: the process group under torchrun (one process per device), sums across
processes, the hardware in words, and the evaluation that each process shards."""

import os
import platform

import torch
import torch.distributed as dist
import torch.nn.functional as F

MEMORY_FORMAT = torch.channels_last  # NHWC: about 1.2-1.4x faster convolutions on CPU here (bench/train.py)


def setup():
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


def all_sum(t, world):
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
        tot += torch.stack([F.cross_entropy(out, y, reduction="sum").double(), (out.argmax(1) == y).sum().double(),
                            torch.tensor(len(y), dtype=torch.float64, device=device)])
    model.train(was)
    loss, correct, n = all_sum(tot, world).tolist()
    return loss / max(n, 1), correct / max(n, 1)
