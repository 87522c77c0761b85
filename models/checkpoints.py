"""Reading a checkpoint from elsewhere: its bytes -> a flat {key: tensor} state dict, nothing executed.

Accepted: `.safetensors`, or `.th` / `.pt` / `.pth` read ONLY with `torch.load(..., map_location="cpu",
weights_only=True)` (a pickle that would run code, a whole pickled model included, is refused without running it).
What people save is unwrapped: the state dict itself, or under one of WRAPPERS ('state_dict', 'model_state_dict',
'model', 'net', 'weights'), also nested one level deeper ({'model': {'state_dict': ...}}); the key prefixes of
DataParallel ('module.') and torch.compile ('_orig_mod.') are removed. Every refusal is a ValueError, one sentence.
"""

import io
import pickle
import re
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load

MAX_BYTES = 100 * 2**20  # 100 MB: He et al.'s deepest CIFAR net, ResNet-1202 (19.4M parameters), is about 78 MB
SUFFIXES = (".safetensors", ".th", ".pt", ".pth")
WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")
PREFIXES = ("module.", "_orig_mod.")


def read_state_dict(data: bytes, filename: str) -> dict:
    """The tensors of a checkpoint file, unwrapped (WRAPPERS) and without the prefixes of PREFIXES.

    Args:
        data: the file's bytes; filename: its name (the suffix must be one of SUFFIXES).
    Returns:
        {key: tensor} on the CPU, in module order: a pickled state dict keeps the order it was saved in; safetensors
        stores its keys sorted, so they come in natural order (layer2 before layer10, conv1 before conv2).
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
            obj = {k: obj[k] for k in sorted(obj, key=natural_key)}
        except (SafetensorError, ValueError, RuntimeError, OSError) as e:
            raise ValueError(f"{name} is damaged or truncated: it is not a readable safetensors file ({e}).") from None
    elif suffix == ".safetensors":
        raise ValueError(f"{name} is damaged or truncated: it does not start like a safetensors file.")
    else:
        obj = _torch_load(data, name)
    obj = unwrap(obj)
    if not isinstance(obj, dict):
        what = type(obj).__name__
        raise ValueError(f"{name} holds a {what}, not a state dict (a dict of named tensors).")  # noqa: TRY004
    state = {strip_prefixes(str(k)): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        found = ", ".join(map(repr, list(obj)[:5])) if obj else "nothing"
        raise ValueError(
            f"{name} holds no tensors (its keys: {found}), nor a state dict under "
            f"{', '.join(map(repr, WRAPPERS))}: it is not a network's state dict."
        )
    return state


def unwrap(obj, depth: int = 2):
    """The state dict inside what people save: obj itself when it holds tensors, else the first dict under one of
    WRAPPERS that holds them (looked for `depth` levels deep, e.g. {'epoch': 3, 'net': {...}, 'acc': 91.2})."""
    if not isinstance(obj, dict) or depth == 0:
        return obj
    for key in WRAPPERS:
        inner = unwrap(obj.get(key), depth - 1)
        if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            return inner
    return obj


def strip_prefixes(key: str) -> str:
    """'module._orig_mod.conv1.weight' -> 'conv1.weight' (DataParallel and torch.compile wrappers)."""
    while key.startswith(PREFIXES):
        key = key.split(".", 1)[1]
    return key


def natural_key(key: str):
    """'layer10.0.conv2.weight' -> a key that sorts numbers by value: layer2 before layer10."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", key) if t]


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
