"""200 reruns of a page in one session do not grow the process's memory by 10% or more (issue 7): no
leaked hooks, tensors or figures. AppTest runs the script in this process, so this process's RSS is
the server's. Each rerun takes a new seed, so it builds a new model, probes it (hooks on, hooks off),
draws four Plotly figures and records them for the HTML report; the caches' bounded sizes
(st.cache_resource max_entries=16 models, st.cache_data max_entries=64 probes) are filled in the
warm-up, so what is measured afterwards is what a long session leaves behind.
"""

import gc
import os
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
WARMUP, RERUNS = 40, 200  # 40 seeds fill the probe cache (2 entries each, 64 kept) and the model cache (16)


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def live_tensors() -> int:
    gc.collect()
    # type(o), not isinstance: isinstance reads __class__, which on torch.distributed's deprecated reduce_op warns
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


@pytest.mark.slow  # 240 reruns: about 5 minutes on 2 busy cores
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc (Linux)")
def test_200_reruns_do_not_grow_memory():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"depth": "8", "batch": "4"})
    at.run()
    at.switch_page("pages/gradient_flow.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ResNet-8" in " ".join(c.value for c in at.caption)

    def rerun(seed):
        at.number_input(key="seed").set_value(seed).run()
        assert not at.exception, [e.value for e in at.exception]

    for seed in range(1, WARMUP + 1):
        rerun(seed)
    gc.collect()
    before, tensors_before = rss_mb(), live_tensors()
    for seed in range(WARMUP + 1, WARMUP + RERUNS + 1):
        rerun(seed)
    gc.collect()
    after, tensors_after = rss_mb(), live_tensors()
    print(f"RSS after warm-up {before:.0f} MB, after {RERUNS} more reruns {after:.0f} MB "
          f"({100 * (after / before - 1):+.1f}%); live tensors {tensors_before} -> {tensors_after}")
    assert after < 1.10 * before, (before, after)
    # The model caches are bounded, so the number of live tensors does not grow with the reruns (a leaked
    # hook's closure or a trace holding activations would add tensors per rerun).
    assert tensors_after <= tensors_before + 50, (tensors_before, tensors_after)
    kinds = [k for k, *_ in at.session_state["_skiplab_report"]]  # the report holds this run's items, not all runs'
    assert kinds.count("chart") == 2 and kinds.count("table") == 2, kinds  # the picture + the one chart under it


def test_cached_models_keep_no_hooks_after_reruns():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"depth": "8", "batch": "4"})
    at.run()
    at.switch_page("pages/gradient_flow.py").run()
    at.radio(key="norm").set_value("none").run()
    assert not at.exception
    from frame import ui
    from models.data import SHAPES_MEAN, SHAPES_STD
    from models.resnet import ResNetConfig

    # The page's cached model (a cache hit returns the very object the page probed), not other tests' models.
    m = ui.init_model(ResNetConfig(depth=8, norm="none", mean=SHAPES_MEAN, std=SHAPES_STD), 0)
    assert ui.init_model(ResNetConfig(depth=8, norm="none", mean=SHAPES_MEAN, std=SHAPES_STD), 0) is m  # cached
    for mod in m.modules():
        assert not (mod._forward_hooks or mod._forward_pre_hooks or mod._backward_hooks), mod
    assert all(p.grad is None for p in m.parameters())


def test_sessions_asking_for_the_same_probe_compute_it_once(monkeypatch):
    """st.cache_data holds a lock per argument set: eight sessions (threads) asking at once for one probe wait
    for the first one's result instead of running eight probes; each gets its own copy (no shared mutation)."""
    import threading

    from frame import ui
    from models.data import SHAPES_MEAN, SHAPES_STD
    from models.resnet import ResNetConfig

    calls = []
    real = ui.probe

    def counting(*a, **k):
        calls.append(threading.get_ident())
        return real(*a, **k)

    monkeypatch.setattr(ui, "probe", counting)
    cfg = ResNetConfig(depth=14, mean=SHAPES_MEAN, std=SHAPES_STD)
    args = (cfg, 4242, 8, "train", (True,) * 6)
    ui.probe_at_init.clear()
    barrier, out = threading.Barrier(8), []

    def ask():
        barrier.wait()
        out.append(ui.probe_at_init(*args))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(out) == 8 and len(calls) == 1, (len(out), len(calls))
    assert len({id(t) for t in out}) == 8  # unpickled copies: one session cannot change another's trace
    assert all(t.loss == out[0].loss for t in out)
