"""The byte-bounded cache of shared models (frame/memory.py): built once per key, at most its limit in bytes, the
largest idle entry evicted first, an entry over the whole limit returned but not kept, one build for concurrent
callers."""

import threading
import time

import torch

from frame import memory
from models.resnet import ResNet, ResNetConfig


def test_a_model_is_built_once_and_counted_by_its_tensors():
    cache, built = memory.BoundedCache(memory.tensor_bytes, lambda: 64), []

    def make():
        built.append(1)
        return ResNet(ResNetConfig(depth=8), seed=0)

    a, b = cache.get("r8", make), cache.get("r8", make)
    assert a is b and built == [1]
    expected = sum(p.numel() * 4 for p in a.parameters()) + sum(t.numel() * t.element_size() for t in a.buffers())
    assert cache.nbytes() == memory.tensor_bytes(a) == expected


def test_over_the_limit_the_largest_idle_entry_goes_first():
    cache = memory.BoundedCache(lambda t: t.numel() * t.element_size(), lambda: 1.0)  # 1 MB
    cache.get("small", lambda: torch.zeros(2**14))  # 64 KB
    cache.get("deep", lambda: torch.zeros(2**17))  # 512 KB
    time.sleep(0.01)
    cache.get("small", lambda: None)  # used again: the deep one is now the idle one
    cache.get("next", lambda: torch.zeros(2**17))  # 512 KB more: over 1 MB
    assert set(cache.entries) == {"small", "next"} and cache.nbytes() <= 2**20
    huge = cache.get("huge", lambda: torch.zeros(2**19))  # 2 MB: over the whole limit, not kept
    assert huge.numel() == 2**19 and "huge" not in cache.entries


def test_many_small_entries_are_bounded_by_count_too():
    """Every seed a visitor tries is a new small model: 200 of them must not all stay (a page rerun 200 times kept
    thousands of live tensors under a byte bound alone)."""
    cache = memory.BoundedCache(lambda v: 1, lambda: 1024.0, max_entries=16)
    for seed in range(200):
        cache.get(seed, lambda seed=seed: seed)
    assert len(cache.entries) == 16 and set(cache.entries) == set(range(184, 200))  # the most recently used stay


def test_concurrent_callers_of_one_key_share_one_build():
    cache, built = memory.BoundedCache(lambda v: 1, lambda: 1.0), []

    def make():
        built.append(1)
        time.sleep(0.2)
        return object()

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("k", make))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len({id(v) for v in out}) == 1


def test_a_bad_limit_keeps_the_default(monkeypatch):
    monkeypatch.setenv("SKIPLAB_MODELS_MB", "lots")
    assert memory.models_limit_mb() == 512
    monkeypatch.setenv("SKIPLAB_MODELS_MB", "100")
    assert memory.models_limit_mb() == 100


def test_entries_unused_for_a_while_are_forgotten_and_built_again():
    cache, built = memory.BoundedCache(lambda t: t.numel() * t.element_size(), lambda: 64), []

    def make(name):
        built.append(name)
        return torch.zeros(16)

    cache.get("idle", lambda: make("idle"))
    cache.get("used", lambda: make("used"))
    time.sleep(0.3)
    cache.get("used", lambda: make("used"))  # asked for again: not idle
    assert cache.forget_unused(0.2) == 1
    cache.get("used", lambda: make("used"))
    cache.get("idle", lambda: make("idle"))
    assert built == ["idle", "used", "idle"]
