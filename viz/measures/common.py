"""Measurement helpers every lesson shares: private copies of a model, hook plumbing, norms, chunked passes.

A measurement never changes the model it is given (a cached model is shared by every Streamlit session): it works on
a private copy whose module objects (mode, BN running statistics, hooks) are its own and whose parameters are the
model's. Copies are lent from a small pool per model, since building one costs about a third of a forward and
backward pass of a ResNet-20 at batch 64. At most AT_ONCE measurements run at a time in a process (the server runs
every session in one): more would not finish sooner on its cores, only hold more activations in memory at once.
"""

import contextlib
import copy
import ctypes
import gc
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn as nn
from torch.linalg import vector_norm

POOL = 4  # idle copies kept per model
_pools: "weakref.WeakKeyDictionary[nn.Module, list]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()
AT_ONCE = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
_slots = threading.BoundedSemaphore(AT_ONCE)  # measurements running now, across all threads (sessions)
_depth = threading.local()  # a thread's nested borrows take one slot
_running = [0]  # measurements holding a slot now (under _lock)


def private_copy(model: nn.Module) -> nn.Module:
    """Module objects of our own (mode, hooks, BN running stats) sharing the model's parameters."""
    memo = {id(p): p for p in model.parameters()}
    return copy.deepcopy(model, memo)


@contextlib.contextmanager
def measuring():
    """One of the AT_ONCE measurement slots for the duration of the block: waits while AT_ONCE other threads are
    measuring; a thread's nested measurements take one slot. Also usable as a decorator."""
    outer = getattr(_depth, "n", 0) == 0
    if outer:
        _slots.acquire()
        with _lock:
            _running[0] += 1
        trim_freed_heaps()  # what runs that ended in other threads freed, before this one allocates its own
    _depth.n = getattr(_depth, "n", 0) + 1
    try:
        yield
    finally:
        _depth.n -= 1
        if outer:
            with _lock:
                _running[0] -= 1
                idle = _running[0] == 0
            _slots.release()
            if idle:
                give_back_freed_memory()


def give_back_freed_memory():
    """Free what reference cycles still hold (a full gc: the server turns Streamlit's collection after every run off,
    .streamlit/config.toml's runner.postScriptGC, so it is done here, once the last measurement ends), then return the
    C heap's freed pages to the system (glibc's malloc_trim), so that after a burst of large passes the process's RSS
    comes back near its baseline instead of keeping their peak."""
    gc.collect()
    trim_freed_heaps()


def trim_freed_heaps():
    """Return the C heaps' free pages to the system (glibc's malloc_trim, every thread's heap). glibc gives each
    thread a heap of its own, and Streamlit runs each session's script in a thread: without this, what a finished run
    freed stays in its thread's heap while a run in another thread allocates afresh, and a burst of heavy runs holds
    the sum of their peaks."""
    if _libc is not None:
        _libc.malloc_trim(0)


_giving_back = threading.Lock()  # taken once per process, by the call that starts the idle thread


def give_back_memory_when_idle(every_s: float = 30.0, forget: Callable[[], object] | None = None) -> bool:
    """Once per process: a daemon thread that every `every_s` seconds, while no measurement runs, first calls
    `forget` (the caller's caches dropping what has gone unused) and then gives freed memory back
    (`give_back_freed_memory`). The call at a measurement's end comes while its caller still holds the results'
    tensors, and what a closed session held is freed minutes later (Streamlit keeps it 2 minutes for a reconnect):
    without this the process would keep that memory until some later measurement ended. True when this call
    started the thread."""
    if not _giving_back.acquire(blocking=False):
        return False

    def loop():
        while True:
            time.sleep(every_s)
            with _lock:
                idle = _running[0] == 0
            if idle:
                try:
                    if forget is not None:
                        forget()
                    give_back_freed_memory()
                except Exception as e:  # a failed give-back must not end the loop: the next tick tries again
                    print(f"skiplab: giving freed memory back failed: {e!r}", file=sys.stderr, flush=True)

    threading.Thread(target=loop, name="skiplab-give-back-memory", daemon=True).start()
    return True


def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_libc = _glibc()


def all_slots_busy() -> bool:
    """True while AT_ONCE measurements are running: a new one would wait for a slot (a queue to show)."""
    with _lock:
        return _running[0] >= AT_ONCE


@contextlib.contextmanager
def borrowed(model: nn.Module, train: bool = False):
    """A private copy of `model` for the duration of the block, in train or eval mode, its buffers (BN running
    statistics) equal to the model's at the start; safe from many threads at once (each borrower has its own). Holds
    a measurement slot (`measuring`) while it runs."""
    with measuring(), _lend(model, train) as net:
        yield net


@contextlib.contextmanager
def _lend(model: nn.Module, train: bool):
    with _lock:
        free = _pools.setdefault(model, [])
        net = free.pop() if free else None
    if net is None:
        net = private_copy(model)
    else:
        with torch.no_grad():
            for b, src in zip(net.buffers(), model.buffers(), strict=True):
                b.copy_(src)
    net.train(train)
    try:
        yield net
    finally:
        for m in net.modules():  # a borrower's hooks never reach the next one
            for hooks in (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks):
                hooks.clear()
        with _lock:
            free = _pools.setdefault(model, [])
            if len(free) < POOL:
                free.append(net)


@contextlib.contextmanager
def forward_hooks(pairs, pre=False):
    """Forward hooks on (module, fn(module, inputs, output) -> None) pairs, or with pre=True forward pre-hooks on
    (module, fn(module, inputs) -> None or new inputs) pairs; removed in `finally`."""
    handles = []
    try:
        for m, fn in pairs:
            handles.append(m.register_forward_pre_hook(fn) if pre else m.register_forward_hook(fn))
        yield
    finally:
        for h in handles:
            h.remove()


def norm(t) -> float:
    """||t||_2 over all elements; 0 for None."""
    return float(vector_norm(t)) if t is not None else 0.0


def moment_std(t) -> float:
    """`std`, from two float32 sums (of t and of t*t; cascade sums, exact to about 1e-8) taken in double: about 2.5x
    faster than Tensor.std on CPU. Where the mean is larger than the std (the difference of the sums would cancel)
    or a sum overflows, it is Tensor.std itself."""
    n = t.numel()
    if n < 2:
        return 0.0
    s1, s2 = float(t.sum()), float((t * t).sum())
    m2 = s1 * s1 / n  # n mean^2
    if math.isfinite(s2) and m2 < s2 - m2:
        return math.sqrt((s2 - m2) / (n - 1))
    return float(t.std())


def ratio(a: float, b: float) -> float:
    """a / b, NaN where b is 0: the one definition of residual_ratio = ||F(x)|| / ||x||."""
    return a / b if b else float("nan")


def share(a: float, b: float) -> float:
    """a / (a + b), NaN where both are 0: the skip share of a gradient split into a skip and a branch part."""
    return a / (a + b) if a + b > 0 else float("nan")


def as_float(images):
    """uint8 images -> float in [0, 1]; float images pass unchanged."""
    return images.float() / 255 if images.dtype == torch.uint8 else images


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering range(n) in pieces of at most `size`."""
    if size < 1:
        raise ValueError(f"the chunk size must be at least 1, not {size}.")
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def in_chunks(fn: Callable, model, images, labels, *args, size: int = 250, progress: Callable | None = None, **kw):
    """Run `fn(model, images[a:b], labels[a:b], *args, **kw)` chunk by chunk and concatenate the DataFrames it
    returns (or each DataFrame of the tuples it returns). progress(fraction done) is called after each chunk."""
    parts, spans = [], chunks(len(images), size)
    for j, (a, b) in enumerate(spans):
        parts.append(fn(model, images[a:b], labels[a:b], *args, **kw))
        if progress:
            progress((j + 1) / len(spans))
    return concat(parts)


def concat(parts):
    """Concatenate chunk results: a list of DataFrames, or of tuples of DataFrames (element-wise)."""
    if parts and isinstance(parts[0], tuple):
        return tuple(pd.concat(p, ignore_index=True) for p in zip(*parts, strict=True))
    return pd.concat(parts, ignore_index=True)
