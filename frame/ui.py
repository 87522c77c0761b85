"""Streamlit glue shared by the pages: cached models, data and probes, and the one entry to the rest of the glue
(catalog, drawing, links). Not a page."""

import streamlit as st
import torch

# The pages' one entry to the shared glue: ui.url_bound, ui.show_chart, ui.zoo_catalog, ...
from frame.catalog import WHO_SEES, remember_mine, zoo_catalog  # noqa: F401
from frame.draw import (  # noqa: F401
    cached_chart,
    controls,
    csv_download,
    follow_new,
    follow_pick,
    guard,
    heavy,
    initial,
    intro,
    presenting,
    projected,
    run_steps,
    show_chart,
    tables_expander,
    trace_key,
)
from frame.framing import require_frame  # noqa: F401
from frame.links import drop_infinite_link_values, number_input, url_bound  # noqa: F401
from frame.memory import BoundedCache, models_limit_mb, tensor_bytes
from frame.store import persisted
from models import registry, zoo
from models.data import SHAPES_MEAN, SHAPES_STD, load_dataset, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.probe import Trace, probe

_init_models = BoundedCache(tensor_bytes, models_limit_mb)  # bounded in bytes: deep models are evicted first
MODEL_IDLE_S = 20.0  # an at-init model unused this long is dropped when the server is idle: built again in 0.01-0.8 s


def forget_idle_models() -> int:
    """Drop the at-init models nobody has used for MODEL_IDLE_S seconds (with them their private copies,
    viz.measures.common's pools): a page's results are cached apart from its model, so after a burst of deep
    settings the server need not keep the deep networks it built. Run by the idle give-back (app.py)."""
    return _init_models.forget_unused(MODEL_IDLE_S)


def init_model(config: ResNetConfig, seed: int) -> ResNet:
    """A freshly initialised model, the same for a seed whatever other sessions do (it draws from a generator
    of its own, not torch's process-wide one); cached (at most SKIPLAB_MODELS_MB in all), shared by sessions,
    never mutated."""
    return _init_models.get((config, seed), lambda: ResNet(config, seed=seed))


@st.cache_data(max_entries=32, show_spinner=False)
def shapes_batch(n: int, seed: int, split: str = "test"):
    """(images float (n, 3, 32, 32) in [0, 1], labels (n,)) as numpy arrays."""
    x, y = make_shapes(split, n=n, seed=seed)
    return (x.float() / 255).numpy(), y.numpy()


def cache_results(**cache_kw):
    """Decorator: st.cache_data(**cache_kw) in front of the result store on disk (frame/store.py): a result survives
    the server's restart and is shared by replicas on one volume. Put it outermost, above `measuring()`, so that a
    result read from disk takes no measurement slot."""

    def decorate(func):
        return st.cache_data(show_spinner=False, **cache_kw)(persisted(func))

    return decorate


SHAPES_STATS = dict(mean=SHAPES_MEAN, std=SHAPES_STD)  # a ResNetConfig's input statistics for the built-in data


def weights_id(name: str) -> str:
    """The SHA-256 of a zoo model's weights, from its card: part of every cache key of a computation on the model,
    so a model retrained under the same name (the Train page saves each epoch) is measured afresh."""
    return registry.model(name).sha256


def zoo_model(name: str) -> ResNet:
    """A zoo model in eval mode; cached, shared by sessions, never mutated (measurements work on copies)."""
    return _zoo_model(name, weights_id(name))


@st.cache_resource(max_entries=16, show_spinner=False)
def _zoo_model(name: str, sha256: str) -> ResNet:
    return zoo.load(name)


def test_set(name: str) -> tuple[str, str]:
    """The test images to measure a zoo model on, and how to say so: (name for `dataset`, description). A CIFAR-10
    model gets the full test split where it is on this machine, else the shipped sample of exact test images; a
    published or imported one (trained on the official pixels) never the JPEG re-encoded copy."""
    return registry.model(name).test_split


@st.cache_resource(max_entries=4, show_spinner=False)
def dataset(name: str, split: str = "test"):
    """A whole split as (uint8 images (N, 3, 32, 32), labels (N,)) tensors; shared, never mutated."""
    return load_dataset(name, split)


def sample(name: str, n: int, seed: int, split: str = "test"):
    """n images of a split, chosen by seed: (float images in [0, 1], labels)."""
    x, y = dataset(name, split)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx].float() / 255, y[idx]


@cache_results(max_entries=64)
def probe_at_init(config: ResNetConfig, seed: int, batch: int, bn_mode: str, skip: tuple) -> Trace:
    """Probe the seed's freshly initialised model on a shapes batch; skip: one bool per block."""
    model = init_model(config, seed)
    x, y = shapes_batch(batch, seed)
    return probe(model, torch.from_numpy(x), torch.from_numpy(y), skip=list(skip), bn_mode=bn_mode)


def probe_trained(name: str, seed: int, batch: int, bn_mode: str) -> Trace:
    """Probe a zoo model on a batch of its own data set's test split (a folder model: its folder)."""
    return _probe_trained(name, weights_id(name), seed, batch, bn_mode)


@cache_results(max_entries=64)
def _probe_trained(name: str, sha256: str, seed: int, batch: int, bn_mode: str) -> Trace:
    model = zoo_model(name)
    x, y = sample(test_set(name)[0], batch, seed)  # CIFAR-10: the full test split where on disk, else the sample
    t = probe(model, x, y, bn_mode=bn_mode)
    t.name = f"{t.name} (trained)"
    return t


