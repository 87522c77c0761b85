"""Shared test setup: the repo root on sys.path, few torch threads, e2e marking, a tiny zoo for page tests."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` imports models/, viz/, pages/
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

# This project's machines have 2 cores shared with other work: oversubscribed threads make every test slower.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


# No result store on disk (frame/store.py) unless a test sets one: a stored result would outlive a test's monkeypatch.
os.environ.setdefault("SKIPLAB_RESULTS", "off")

PENDING = os.environ.get("SKIPLAB_PENDING") == "1"


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ is a browser test, marked or not (`-m "not e2e"` deselects them). A test marked
    `pending` (long, and not yet seen to pass on a quiet machine: its reason says why) runs only with
    SKIPLAB_PENDING=1, so that it cannot push CI past its time limit before it has been checked once."""
    e2e_dir = ROOT / "tests" / "e2e"
    for item in items:
        if e2e_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("pending") and not PENDING:
            item.add_marker(pytest.mark.skip(reason="pending: " + item.get_closest_marker("pending").args[0]
                                             + " (SKIPLAB_PENDING=1 runs it)"))


@pytest.fixture
def tiny_zoo(monkeypatch, tmp_path):
    """shapes-resnet8 and shapes-plain8 (untrained, random BatchNorm statistics) as the only zoo models, in a user
    zoo under tmp_path (the shipped folder is empty), with Streamlit's caches cleared around the test."""
    import streamlit as st

    from models import zoo
    from models.data import SHAPES_MEAN, SHAPES_STD
    from models.resnet import ResNet, ResNetConfig

    monkeypatch.setattr(zoo, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "user"))
    for skip in (True, False):
        m = ResNet(ResNetConfig(depth=8, skip=skip, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_var.uniform_(0.5, 2.0, generator=torch.Generator().manual_seed(1))
        zoo.save(m.eval(), {"dataset": "shapes", "test_acc": 0.1}, tmp_path / "user", zoo.model_name("shapes", m.config))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path
    st.cache_data.clear()
    st.cache_resource.clear()
