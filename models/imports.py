"""Bring your own network: a CIFAR ResNet checkpoint from elsewhere becomes a zoo model.

Accepted: a state dict of a CIFAR-style ResNet (depth 6n+2, three stages, 3x3 stem, 32x32 input) as
`.safetensors`, or as `.th` / `.pt` / `.pth` read ONLY with `torch.load(..., map_location="cpu", weights_only=True)`
(a pickle that would run code is refused without running it); with or without a `state_dict` wrapper and the
`module.` prefix of DataParallel. Two layouts, told apart by their key names:

- "akamaster": akamaster/pytorch_resnet_cifar10 (Yerlan Idelbayev): `conv1`, `bn1`, `layer{1,2,3}.{i}.conv1/bn1/
  conv2/bn2`, `linear`. Its option-A shortcut pads the new zero channels on BOTH sides (input channel c lands on
  output channel c + C/2 when C channels become 2C), ours pads at the end. `convert` permutes the channels of
  every stage once, at import, so that our `models.resnet.ResNet` computes exactly the peer's function
  (tests/models/test_imports.py checks the logits against the peer's network written from its description).
  Option B (a `shortcut.0` 1x1 conv + `shortcut.1` BN) keeps the channel order and needs no permutation.
- "skiplab": a state dict of `models.resnet.ResNet` (`conv`, `bn`, `blocks.{i}.branch.*`, `fc`, `mean`, `std`).

Everything is checked before anything is written: a refusal is a ValueError with one sentence, and then no file
is created. The conversion is pure; `import_bytes` / `import_file` measure the network on the shipped CIFAR-10
sample (and on the full test split when it is on this machine) and save it with a card via `models.zoo.save`.
"""

import hashlib
import io
import pickle
import re
import time
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load

from models.resnet import MAX_DEPTH, ResNet, ResNetConfig

MAX_BYTES = 100 * 2**20  # 100 MB: He et al.'s deepest CIFAR net, ResNet-1202 (19.4M parameters), is about 78 MB
SUFFIXES = (".safetensors", ".th", ".pt", ".pth")
PEER_MEAN = (0.485, 0.456, 0.406)  # akamaster's input normalisation (ImageNet statistics), RGB in [0, 1]
PEER_STD = (0.229, 0.224, 0.225)
PEER_REPO = "akamaster/pytorch_resnet_cifar10"
PEER_LICENCE = (
    "BSD 2-clause licence, Copyright (c) 2018, Yerlan Idelbayev "
    "(full notice in models/weights/LICENSE-pytorch_resnet_cifar10)"
)
# The published checkpoints of akamaster/pytorch_resnet_cifar10, by the SHA-256 of the file (its name carries
# the first 8 hex digits): depth and the test error their author reports on the official 10,000 test images.
KNOWN = {
    "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8": (20, 0.0827),
    "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850": (32, 0.0737),
    "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4": (44, 0.0690),
    "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367": (56, 0.0661),
}
LAYOUTS = {
    "akamaster": f"{PEER_REPO} (conv1, bn1, layer1-3, linear; option-A shortcut padding both sides)",
    "akamaster-B": f"{PEER_REPO} with option-B shortcuts (1x1 projection where the shape changes)",
    "skiplab": "skiplab's own models.resnet.ResNet state dict",
}
_BLOCK_KEY = re.compile(r"^layer([1-3])\.(\d+)\.(.+)$")
_OUR_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.(.+)$")
_BN = ("weight", "bias", "running_mean", "running_var")


# --- reading ---------------------------------------------------------------------------------------


def read_state_dict(data: bytes, filename: str) -> dict:
    """The tensors of a checkpoint file, `state_dict` wrapper and `module.` prefix removed.

    Args:
        data: the file's bytes; filename: its name (the suffix must be one of SUFFIXES).
    Returns:
        {key: tensor} on the CPU.
    Raises:
        ValueError (one sentence): wrong suffix, too big, empty, damaged or truncated, a pickle that would run
        code (refused by torch's weights-only unpickler before anything runs), no tensors inside.
    """
    name = Path(str(filename)).name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{name} is not a checkpoint skiplab imports: use a .safetensors, .th, .pt or .pth file.")
    if len(data) > MAX_BYTES:
        raise ValueError(
            f"{name} is {len(data) / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit "
            "(a CIFAR ResNet-1202, the deepest there is, takes about 78 MB)."
        )
    if not data:
        raise ValueError(f"{name} is empty (0 bytes): there is no network in it.")
    if _looks_like_safetensors(data):
        try:
            obj = safetensors_load(bytes(data))
        except (SafetensorError, ValueError, RuntimeError, OSError) as e:
            raise ValueError(f"{name} is damaged or truncated: it is not a readable safetensors file ({e}).") from None
    elif suffix == ".safetensors":
        raise ValueError(f"{name} is damaged or truncated: it does not start like a safetensors file.")
    else:
        obj = _torch_load(data, name)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        what = type(obj).__name__
        raise ValueError(f"{name} holds a {what}, not a state dict (a dict of named tensors).")  # noqa: TRY004
    state = {str(k).removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ValueError(f"{name} holds no tensors: it is not a network's state dict.")
    return state


def _looks_like_safetensors(data):
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    return 2 <= n <= len(data) - 8 and data[8:9] == b"{"


def _torch_load(data, name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on pickle protocols: the refusal below says what matters
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL ([\w.]+)", str(e))  # torch names the first global it refused
        code = [m[1]] if m else [g for g in _pickle_globals(data) if not g.startswith(_SAFE_GLOBALS)]
        if code:
            raise ValueError(
                f"{name} is a pickle that asks to run code ({code[0]}); skiplab refused it without running "
                "anything: save only the state dict (torch.save(model.state_dict(), path))."
            ) from None
        raise ValueError(
            f"{name} is damaged or truncated: it is not a PyTorch checkpoint that torch.load can read "
            "with weights_only=True."
        ) from None
    except Exception as e:  # noqa: BLE001 (any reader failure on a damaged file becomes one sentence)
        raise ValueError(f"{name} is damaged or truncated: torch could not read it ({_first_line(e)}).") from None


_SAFE_GLOBALS = ("torch.", "collections.OrderedDict", "_codecs.encode")


def _pickle_globals(data):
    """The module.name of every GLOBAL / STACK_GLOBAL in a plain pickle, found by parsing its opcodes (pickletools
    never executes anything); [] for what is not a pickle."""
    import pickletools

    if not data.startswith(b"\x80"):
        return []
    out, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                out.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                out.append(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str) and "UNICODE" in op.name:
                strings.append(arg)
    except Exception:  # noqa: BLE001 (a damaged pickle: what was parsed so far is what we know)
        pass
    return out


def _first_line(e):
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160]}" if text else type(e).__name__


# --- layouts ----------------------------------------------------------------------------------------


def detect(state: dict) -> str:
    """The layout of a state dict, from its key names: "akamaster", "akamaster-B" or "skiplab".

    Raises ValueError for an ImageNet ResNet (4 stages, 7x7 stem, 1000 classes) or anything else."""
    keys = set(state)
    stem = state.get("conv1.weight", state.get("conv.weight"))
    imagenet = (
        any(k.startswith("layer4.") for k in keys)
        or (stem is not None and stem.ndim == 4 and stem.shape[-1] == 7)
        or any(state[k].ndim == 2 and state[k].shape[0] == 1000 for k in ("fc.weight", "linear.weight") if k in keys)
    )
    if imagenet:
        raise ValueError(
            "This is an ImageNet ResNet (4 stages, a 7x7 first conv or 1000 classes); skiplab imports "
            "CIFAR ResNets: a 3x3 first conv, 3 stages of n blocks (depth 6n+2) and 32x32 inputs."
        )
    if "conv1.weight" in keys and "linear.weight" in keys and any(k.startswith("layer1.") for k in keys):
        return "akamaster-B" if any(".shortcut." in k for k in keys) else "akamaster"
    if "conv.weight" in keys and "fc.weight" in keys and any(k.startswith("blocks.") for k in keys):
        return "skiplab"
    raise ValueError(
        "The file's tensor names match no CIFAR ResNet layout skiplab knows: expected conv1/layer1-3/linear "
        f"({PEER_REPO}) or conv/blocks/fc (skiplab), found {', '.join(sorted(keys)[:4])}..."
    )


def peer_permutations(width: int = 16) -> list[torch.Tensor]:
    """For each of the 3 stages, perm (C,): our channel j holds the akamaster network's channel perm[j].

    Stage 1 keeps the order. Where option A takes C channels to 2C, the peer puts input channel c on output
    channel c + C/2 and ours puts it on c, so perm[j] = prev[j] + C/2 for j < C; the peer's zero-padded
    channels [0, C/2) and [3C/2, 2C) follow, in order, where our shortcut pads zeros."""
    perms = [torch.arange(width)]
    for c in (width, 2 * width):
        rest = [i for i in range(2 * c) if i < c // 2 or i >= c + c // 2]
        perms.append(torch.cat([perms[-1] + c // 2, torch.tensor(rest, dtype=torch.long)]))
    return perms


def _blocks_per_stage(state, pattern, stage_of):
    found = {}
    for k in state:
        m = pattern.match(k)
        if m:
            found.setdefault(stage_of(m), set()).add(int(m[m.lastindex - 1]))
    return found


def _check_counts(counts):
    """counts: blocks per stage [n1, n2, n3] -> n, or a ValueError a student understands."""
    if len(set(counts)) != 1:
        raise ValueError(
            f"The stages have {', '.join(map(str, counts))} blocks: a CIFAR ResNet has the same number n "
            "in each of its 3 stages (depth 6n+2), so this network is not one skiplab can build."
        )
    n = counts[0]
    if 6 * n + 2 > MAX_DEPTH:
        raise ValueError(f"This network is {6 * n + 2} layers deep; the deepest skiplab builds is {MAX_DEPTH}.")
    return n


def convert(state: dict, skip: bool = True) -> tuple[ResNetConfig, dict]:
    """A peer's (or our own) state dict -> (config, state dict of `models.resnet.ResNet` computing its function).

    Args:
        state: {key: tensor} as from `read_state_dict` (no `module.` prefix).
        skip: for the skiplab layout only (its tensors do not say it): residual (True) or plain (False).
    Returns:
        config (depth, width, classes, shortcut, mean/std inferred) and a full state dict for ResNet(config).
    Raises:
        ValueError: an unknown or ImageNet layout, a wrong number of blocks, missing or misshapen tensors.
    """
    layout = detect(state)
    if layout == "skiplab":
        cfg, ours = _from_skiplab(state, skip)
    else:
        cfg, ours = _from_akamaster(state, layout)
    model = ResNet(cfg)
    want = model.state_dict()
    for k, v in want.items():  # a BN's step counter is no part of the function: keep ours where it is missing
        if k.endswith("num_batches_tracked") and k not in ours:
            ours[k] = v
    missing, extra = sorted(set(want) - set(ours)), sorted(set(ours) - set(want))
    if missing:
        raise ValueError(
            f"The file lacks tensors a {cfg.name} needs (e.g. {', '.join(missing[:3])}): it is incomplete."
        )
    if extra:
        raise ValueError(
            f"The file has tensors a {cfg.name} does not have (e.g. {', '.join(extra[:3])}): "
            "it is another kind of network."
        )
    for k, v in ours.items():
        if tuple(v.shape) != tuple(want[k].shape):
            raise ValueError(
                f"The tensor for {k} has shape {tuple(v.shape)} where a {cfg.name} of width {cfg.width} "
                f"needs {tuple(want[k].shape)}: the blocks do not fit together."
            )
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"The tensor for {k} holds NaN or infinite values: the network is broken.")
    return cfg, {k: v.to(want[k].dtype).contiguous() for k, v in ours.items()}


def _from_akamaster(state, layout):
    found = _blocks_per_stage(state, _BLOCK_KEY, lambda m: int(m[1]))
    for s in (1, 2, 3):
        idx = found.get(s, set())
        if not idx or idx != set(range(len(idx))):
            raise ValueError(
                f"Stage {s} (layer{s}) has blocks {sorted(idx) or 'none'}: a CIFAR ResNet numbers the n "
                "blocks of each of its 3 stages 0..n-1, so this network is incomplete."
            )
    n = _check_counts([len(found[s]) for s in (1, 2, 3)])
    stem, fc = state["conv1.weight"], state["linear.weight"]
    if stem.ndim != 4 or stem.shape[-2:] != (3, 3) or fc.ndim != 2:
        raise ValueError(f"The first conv has shape {tuple(stem.shape)}: a CIFAR ResNet starts with a 3x3 conv.")
    w, classes, cin = int(stem.shape[0]), int(fc.shape[0]), int(stem.shape[1])
    shortcut = "B" if layout == "akamaster-B" else "A"
    if shortcut == "A" and w % 2:
        raise ValueError(
            f"The first stage has {w} channels; option A pads half of them on each side, so it needs an even number."
        )
    cfg = ResNetConfig(
        depth=6 * n + 2,
        width=w,
        num_classes=classes,
        in_channels=cin,
        shortcut=shortcut,
        mean=PEER_MEAN[:cin] if cin == 3 else (0.5,) * cin,
        std=PEER_STD[:cin] if cin == 3 else (0.5,) * cin,
    )
    perms = peer_permutations(w) if shortcut == "A" else [torch.arange(c) for c in (w, 2 * w, 4 * w)]

    def bn(src, dst, p, out):
        for f in _BN:
            if f"{src}.{f}" in state:
                out[f"{dst}.{f}"] = state[f"{src}.{f}"][p]

    def conv(src, dst, p_out, p_in, out):
        if src in state:
            t = state[src]
            out[dst] = t[p_out][:, p_in] if t.ndim == 4 and len(p_out) == t.shape[0] and len(p_in) == t.shape[1] else t

    out = {"mean": torch.tensor(cfg.mean).view(1, -1, 1, 1), "std": torch.tensor(cfg.std).view(1, -1, 1, 1)}
    conv("conv1.weight", "conv.weight", perms[0], torch.arange(cin), out)
    bn("bn1", "bn", perms[0], out)
    i, prev = 0, perms[0]
    for s in (1, 2, 3):
        p = perms[s - 1]
        for b in range(n):
            src, dst = f"layer{s}.{b}", f"blocks.{i}"
            conv(f"{src}.conv1.weight", f"{dst}.branch.conv1.weight", p, prev, out)
            bn(f"{src}.bn1", f"{dst}.branch.bn1", p, out)
            conv(f"{src}.conv2.weight", f"{dst}.branch.conv2.weight", p, p, out)
            bn(f"{src}.bn2", f"{dst}.branch.bn2", p, out)
            conv(f"{src}.shortcut.0.weight", f"{dst}.shortcut.conv.weight", p, prev, out)
            bn(f"{src}.shortcut.1", f"{dst}.shortcut.bn", p, out)
            prev, i = p, i + 1
    out["fc.weight"] = fc[:, prev] if fc.shape[1] == len(prev) else fc
    out["fc.bias"] = state.get("linear.bias", torch.zeros(classes))
    known = {k for k in state if k.startswith(("conv1.", "bn1.", "linear.")) or _BLOCK_KEY.match(k)}
    left = sorted(k for k in set(state) - known if not k.endswith("num_batches_tracked"))
    if left:
        raise ValueError(
            f"The file has tensors outside a CIFAR ResNet (e.g. {', '.join(left[:3])}): another kind of network."
        )
    return cfg, out


def _from_skiplab(state, skip):
    idx = _blocks_per_stage(state, _OUR_BLOCK_KEY, lambda m: 0).get(0, set())
    if not idx or idx != set(range(len(idx))):
        raise ValueError(f"The blocks are numbered {sorted(idx)[:6]}...: a skiplab ResNet numbers its blocks 0..3n-1.")
    stem = state["conv.weight"]
    w = int(stem.shape[0])
    if stem.ndim != 4 or stem.shape[-2:] != (3, 3):
        raise ValueError(f"The first conv has shape {tuple(stem.shape)}: a CIFAR ResNet starts with a 3x3 conv.")
    widths = []
    for i in sorted(idx):
        t = state.get(f"blocks.{i}.branch.conv1.weight")
        if t is None:
            raise ValueError(f"Block {i} has no branch.conv1: it is not a basic block skiplab can import.")
        widths.append(int(t.shape[0]))
    counts = [sum(c == w * 2**s for c in widths) for s in range(3)]
    if sum(counts) != len(widths):
        raise ValueError(
            f"The blocks have {sorted(set(widths))} channels: a CIFAR ResNet's stages have {w}, {2 * w} and "
            f"{4 * w}, so this network is not one skiplab can build."
        )
    n = _check_counts(counts)
    cin = int(stem.shape[1])
    # the buffers are float32: 7 significant digits give back the config's numbers (and the same float32 values)
    mean = tuple(float(f"{float(v):.7g}") for v in state["mean"].flatten()) if "mean" in state else None
    std = tuple(float(f"{float(v):.7g}") for v in state["std"].flatten()) if "std" in state else None
    if mean is None or std is None:
        raise ValueError(
            "The file has no 'mean' and 'std' tensors, so the input normalisation of this network is unknown."
        )
    shortcut = "B" if any(".shortcut.conv." in k for k in state) else "A"
    norm = "batch" if "bn.weight" in state else "none"
    cfg = ResNetConfig(
        depth=6 * n + 2,
        skip=skip,
        width=w,
        in_channels=cin,
        num_classes=int(state["fc.weight"].shape[0]),
        shortcut=shortcut,
        norm=norm,
        mean=mean,
        std=std,
    )
    return cfg, dict(state)


def to_resnet(data: bytes, filename: str, skip: bool = True) -> tuple[ResNet, dict]:
    """A checkpoint's bytes -> (our ResNet in eval mode, facts for its card: layout, source file, SHA-256, and for
    a known published file its author, licence and reported error). Nothing is written."""
    state = read_state_dict(data, filename)
    layout = detect(state)
    cfg, ours = convert(state, skip=skip)
    model = ResNet(cfg)
    model.load_state_dict(ours)
    sha = hashlib.sha256(data).hexdigest()
    facts = {"source_file": Path(str(filename)).name, "source_sha256": sha, "layout": LAYOUTS[layout]}
    if layout.startswith("akamaster"):
        facts["conversion"] = (
            "channels permuted at import (option A pads both sides in the source, at the end "
            "in skiplab); input normalised with the source's mean/std"
            if cfg.shortcut == "A"
            else "renamed; input normalised with the source's mean/std"
        )
    if sha in KNOWN and KNOWN[sha][0] == cfg.depth:
        facts.update(
            origin="published",
            author="Yerlan Idelbayev",
            url=f"https://github.com/{PEER_REPO}",
            licence=PEER_LICENCE,
            reported_error=KNOWN[sha][1],
            reported_on="official CIFAR-10 test split, 10,000 images (the author's README)",
            recipe_summary="200 epochs on the official CIFAR-10 by the author (He et al. 2015 Sec. 4.2, option A)",
        )
    else:
        facts["origin"] = "imported"
    return model.eval(), facts


# --- measuring and saving ----------------------------------------------------------------------------


@torch.inference_mode()
def accuracy(model, images, labels, batch: int = 500) -> float:
    """Top-1 accuracy. images: (N, 3, 32, 32) uint8; labels: (N,) int64. The model is not changed."""
    hits = sum(
        int((model(images[a : a + batch].float() / 255).argmax(1) == labels[a : a + batch]).sum())
        for a in range(0, len(images), batch)
    )
    return hits / len(images)


def measure(model, full_test: bool | None = None) -> dict:
    """Card fields for a 10-class network: accuracy on the shipped CIFAR-10 sample (`sample_acc`, `sample_images`)
    and, when `full_test` (default: when CIFAR-10 is on this machine), on the full test split (`test_acc`,
    `test_images`, `test_split` saying which copy). Other class counts get no measurement."""
    from models import data

    if model.config.num_classes != len(data.CIFAR10_CLASSES):
        return {}
    x, y = data.load_dataset("cifar10-sample", "test")
    out = {"sample_acc": accuracy(model, x, y), "sample_images": len(y), "sample": data.SAMPLE_DESCRIPTION}
    if full_test is None:
        full_test = data.on_disk("cifar10")
    if full_test:
        x, y = data.load_dataset("cifar10", "test")
        out.update(
            test_acc=accuracy(model, x, y), test_images=len(y), test_split=data.describe_split("cifar10", "test")
        )
    return out


def default_name(model, facts) -> str:
    """cifar10-resnet20-published for a known published file, else e.g. cifar10-resnet20-imported-1a2b3c4d."""
    cfg = model.config
    data = "cifar10" if cfg.num_classes == 10 else f"classes{cfg.num_classes}"
    base = f"{data}-{'resnet' if cfg.skip else 'plain'}{cfg.depth}"
    return (
        f"{base}-published" if facts.get("origin") == "published" else f"{base}-imported-{facts['source_sha256'][:8]}"
    )


def import_bytes(
    data: bytes,
    filename: str,
    name: str | None = None,
    zoo_dir=None,
    *,
    skip: bool = True,
    full_test: bool | None = None,
) -> dict:
    """Import a checkpoint's bytes into the zoo (what the Train page's upload calls).

    Args:
        data: the file's bytes; filename: its name (suffix .safetensors, .th, .pt or .pth).
        name: the zoo name (default `default_name`); zoo_dir: the folder (default `models.zoo.user_dir()`).
        skip: for a skiplab-layout file only: residual (True) or plain (False).
        full_test: also measure the full CIFAR-10 test split (default: when it is on this machine; slow: about a
            minute for a ResNet-56 on 2 CPU cores).
    Returns:
        the card written next to `<name>.safetensors`.
    Raises:
        ValueError with one sentence; then nothing is written.
    """
    from models import zoo

    t0 = time.perf_counter()
    model, facts = to_resnet(data, filename, skip=skip)
    name = zoo.check_name(name or default_name(model, facts))
    folder = Path(zoo_dir) if zoo_dir is not None else zoo.user_dir()
    if folder.resolve() != zoo.SHIPPED.resolve() and (zoo.SHIPPED / f"{name}.json").is_file():
        if zoo._read_card(zoo.SHIPPED / f"{name}.json").get("source_sha256") == facts["source_sha256"]:
            raise ValueError(f"This file is already shipped as {name} (the same SHA-256): nothing to import; give "
                             "another name to import a copy.")
        raise ValueError(f"{name} is the name of a shipped model; give the import another name.")
    from models.data import CIFAR10_CLASSES

    card = {"name": name, "dataset": "cifar10" if model.config.num_classes == 10 else "unknown", **facts}
    if model.config.num_classes == 10:
        card["classes"] = list(CIFAR10_CLASSES)
    card.update(measure(model, full_test))
    if "reported_error" in card and "sample_acc" in card:
        card["sample_vs_reported_points"] = round(100 * (card["sample_acc"] - (1 - card["reported_error"])), 2)
    card["command"] = (
        f"python -m models.zoo import {facts['source_file']} --name {name}"
        + (f" --zoo {zoo_dir}" if zoo_dir is not None else "")
        + (" --plain" if not model.config.skip else "")
    )
    card["seconds"] = None
    card["import_seconds"] = round(time.perf_counter() - t0, 2)
    card["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    zoo.save(model, card, folder, name)
    return zoo._read_card(folder / f"{name}.json")


def import_file(path, name: str | None = None, zoo_dir=None, **kw) -> dict:
    """`import_bytes` on a file (its size is checked before it is read)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file.")
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(
            f"{path.name} is {path.stat().st_size / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit "
            "(a CIFAR ResNet-1202, the deepest there is, takes about 78 MB)."
        )
    return import_bytes(path.read_bytes(), path.name, name, zoo_dir, **kw)
