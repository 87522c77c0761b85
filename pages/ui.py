"""Streamlit glue shared by the pages: cached loaders, downloads, error guards. Not a page."""

import contextlib

import pandas as pd
import streamlit as st
import torch

from models import zoo
from models.data import load_dataset, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.probe import Trace, probe


def _leave_legacy_pages_mode():
    """A fresh server whose first visitor opens a page URL (say /gradient_flow) runs that file of pages/
    on its own, in Streamlit's legacy multipage mode, until app.py has once called st.navigation. Switch
    the server to app.py's navigation and rerun, so the page is drawn inside the frame."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()


@st.cache_resource(max_entries=16, show_spinner=False)
def init_model(config: ResNetConfig, seed: int) -> ResNet:
    """A freshly initialised model; cached, shared by sessions, never mutated."""
    torch.manual_seed(seed)
    return ResNet(config)


@st.cache_data(max_entries=32, show_spinner=False)
def shapes_batch(n: int, seed: int, split: str = "test"):
    """(images float (n, 3, 32, 32) in [0, 1], labels (n,)) as numpy arrays."""
    x, y = make_shapes(split, n=n, seed=seed)
    return (x.float() / 255).numpy(), y.numpy()


@st.cache_data(ttl=30, show_spinner=False)
def zoo_catalog() -> pd.DataFrame:
    """The zoo's catalog (shipped and user models); re-read every 30 s so newly trained models appear."""
    return zoo.list()


@st.cache_resource(max_entries=16, show_spinner=False)
def zoo_model(name: str) -> ResNet:
    """A zoo model in eval mode; cached, shared by sessions, never mutated (measurements work on copies)."""
    return zoo.load(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def dataset(name: str, split: str = "test"):
    """A whole split as (uint8 images (N, 3, 32, 32), labels (N,)) tensors; shared, never mutated."""
    return load_dataset(name, split)


def sample(name: str, n: int, seed: int, split: str = "test"):
    """n images of a split, chosen by seed: (float images in [0, 1], labels)."""
    x, y = dataset(name, split)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx].float() / 255, y[idx]


def csv_download(df: pd.DataFrame, name: str, label: str = "Download CSV"):
    st.download_button(label, df.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv", key=f"csv-{name}")


@contextlib.contextmanager
def guard(what: str):
    """Show a failure as a clear message, not a traceback; the rest of the page keeps working."""
    try:
        yield
    except (ValueError, RuntimeError, OSError, MemoryError) as e:
        st.error(f"Could not {what}: {e}")


@st.cache_data(max_entries=64, show_spinner=False)
def probe_at_init(config: ResNetConfig, seed: int, batch: int, bn_mode: str, skip: tuple) -> Trace:
    """Probe the seed's freshly initialised model on a shapes batch; skip: one bool per block."""
    model = init_model(config, seed)
    x, y = shapes_batch(batch, seed)
    return probe(model, torch.from_numpy(x), torch.from_numpy(y), skip=list(skip), bn_mode=bn_mode)


@st.cache_data(max_entries=64, show_spinner=False)
def probe_trained(name: str, seed: int, batch: int, bn_mode: str) -> Trace:
    """Probe a zoo model on a batch of its own data set's test split."""
    model = zoo_model(name)
    x, y = sample(zoo.card(name)["dataset"], batch, seed)
    t = probe(model, x, y, bn_mode=bn_mode)
    t.name = f"{t.name} (trained)"
    return t


def show_chart(fig_and_caption):
    fig, caption = fig_and_caption
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    st.caption(caption)
