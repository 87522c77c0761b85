"""Shared test setup: the repo root on sys.path, few torch threads, e2e marking, CI guards."""

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


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ is a browser test, marked or not (`-m "not e2e"` deselects them)."""
    e2e_dir = ROOT / "tests" / "e2e"
    for item in items:
        if e2e_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
