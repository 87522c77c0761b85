"""Streamlit glue shared by the pages: cached loaders, downloads, error guards. Not a page."""

import contextlib

import pandas as pd
import streamlit as st
import torch

from models.data import make_shapes
from models.resnet import ResNet, ResNetConfig


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


def csv_download(df: pd.DataFrame, name: str, label: str = "Download CSV"):
    st.download_button(label, df.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv", key=f"csv-{name}")


@contextlib.contextmanager
def guard(what: str):
    """Show a failure as a clear message, not a traceback; the rest of the page keeps working."""
    try:
        yield
    except (ValueError, RuntimeError, OSError, MemoryError) as e:
        st.error(f"Could not {what}: {e}")
