"""A training run's resume checkpoint (models.train): the weights, the SGD momentum and the run's state as
safetensors, written atomically, read without pickle."""

import json
import os

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


def save_checkpoint(path, model, opt, state):
    """Write the run's weights, SGD momentum and state (epoch, history, ...) to path, atomically."""
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
