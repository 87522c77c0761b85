"""A process-wide cache bounded in bytes, for the models every session shares (Streamlit's st.cache_resource bounds
entries only: sixteen ResNet-1202s are 1.2 GB). Past its limit it evicts first the entry with the largest size times
the time since it was last used, so deep networks go first and a small model in use stays. No streamlit here."""

import os
import threading
import time

MB = 2**20


def tensor_bytes(module) -> int:
    """The bytes of a torch module's parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


class BoundedCache:
    """{key: value} built by `make()` once per key (concurrent callers of one key wait for the first), at most
    `limit_mb()` MB in all by `size_of(value)` and at most `max_entries` entries (many small models: every seed a
    visitor tries is a new one); an entry larger than the whole limit is returned and not kept."""

    def __init__(self, size_of, limit_mb, max_entries: int = 16):
        self.size_of, self.limit_mb, self.max_entries = size_of, limit_mb, max_entries
        self.entries: dict = {}  # key -> [value, bytes, last used (monotonic s)]
        self.lock, self.making = threading.Lock(), {}

    def get(self, key, make):
        with self.lock:
            if key in self.entries:
                entry = self.entries[key]
                entry[2] = time.monotonic()
                return entry[0]
            building = self.making.setdefault(key, threading.Lock())
        with building:  # one build per key; the others wait for it and find it cached
            with self.lock:
                if key in self.entries:
                    return self.entries[key][0]
            value = make()
            self._keep(key, value, self.size_of(value))
        with self.lock:
            self.making.pop(key, None)
        return value

    def _keep(self, key, value, size: int):
        limit = self.limit_mb() * MB
        if size > limit:
            return
        with self.lock:
            self.entries[key] = [value, size, time.monotonic()]
            now = time.monotonic()
            while sum(e[1] for e in self.entries.values()) > limit or len(self.entries) > self.max_entries:
                victim = max(self.entries, key=lambda k: self.entries[k][1] * (now - self.entries[k][2] + 1))
                del self.entries[victim]

    def forget_unused(self, idle_s: float) -> int:
        """Drop the entries nobody has asked for in the last `idle_s` seconds; the number dropped. A dropped entry is
        freed once no caller still holds it, and built again by the next `get`."""
        with self.lock:
            now = time.monotonic()
            stale = [k for k, e in self.entries.items() if now - e[2] > idle_s]
            for k in stale:
                del self.entries[k]
        return len(stale)

    def nbytes(self) -> int:
        with self.lock:
            return sum(e[1] for e in self.entries.values())

    def clear(self):
        with self.lock:
            self.entries.clear()


def models_limit_mb() -> float:
    """The shared models' memory: env SKIPLAB_MODELS_MB (default 512)."""
    try:
        value = float(os.environ.get("SKIPLAB_MODELS_MB", 512))
    except ValueError:
        return 512.0
    return value if value > 0 else 512.0
