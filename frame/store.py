"""Results that survive a restart (issue 25): what the warm-up and the visitors computed, kept on disk in the data
folder, so that a restarted server (or another replica on the same volume) finds every page's default view there
instead of computing it again. No streamlit here: frame/ui.py puts Streamlit's memory cache in front of it.

One file per result, `<folder>/<version>/<function>/<key>.pkl`:
- the folder is $SKIPLAB_RESULTS, else `results/` in the data folder ($SKIPLAB_DATA, else ~/.cache/skiplab: the
  compose file's shared volume); SKIPLAB_RESULTS=off turns the store off (the tests' default: tests/conftest.py);
- the version is a hash of the code (every .py of models/, viz/, frame/ and pages/) and of torch's version, so a
  new release never reads an old result; a zoo model named in the arguments adds its weights' SHA-256 to the key,
  so a retrained model is measured afresh;
- a file is written to a temporary name and renamed (os.replace): a reader sees a whole file or none; it starts with
  a header naming the version and the SHA-256 of the pickled result, and a file whose header, version or checksum
  does not match (a disk error, a half-copied volume, an edit) is deleted and recomputed, never shown;
- the folder is bounded in bytes ($SKIPLAB_RESULTS_MB, default 1024): past it the largest and least recently used
  files (deep traces, old versions) are deleted first.
Only results of plain arguments (numbers, strings, tuples, frozen dataclasses such as ResNetConfig) are stored; any
other call is computed as before. The files are pickles: the folder must be the server's own (as the zoo is).
"""

import dataclasses
import functools
import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from pathlib import Path

LOG = logging.getLogger("skiplab.store")
MAGIC = b"skiplab-result 1 "
ROOT = Path(__file__).resolve().parents[1]
CODE = ("models", "viz", "frame", "pages")  # the packages whose code makes a result
_PLAIN = (str, int, float, bool, bytes, type(None))
_trim_lock = threading.Lock()


def folder() -> Path | None:
    """The store's folder, or None where SKIPLAB_RESULTS=off."""
    setting = os.environ.get("SKIPLAB_RESULTS", "")
    if setting.lower() == "off":
        return None
    if setting:
        return Path(setting).expanduser()
    from models.data.common import data_root

    return data_root() / "results"


def limit_bytes() -> int:
    try:
        mb = float(os.environ.get("SKIPLAB_RESULTS_MB", 1024))
    except ValueError:
        mb = 1024.0
    return int(max(mb, 1.0) * 2**20)


@functools.cache
def code_version() -> str:
    """16 hex digits that change when any .py of CODE or torch's version changes."""
    import torch

    h = hashlib.sha256(torch.__version__.encode())
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _is_plain(value) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (tuple, list, frozenset)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(_is_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def _weights(args) -> tuple:
    """The SHA-256 of every zoo model a string argument names (a retrained model gets new results)."""
    from models import zoo

    out = []
    for value in args:
        if isinstance(value, str) and zoo.NAME_RE.match(value):
            for _, zoo_folder in zoo.folders():
                if (zoo_folder / f"{value}.json").is_file():
                    try:
                        out.append(zoo.read_card(zoo_folder / f"{value}.json").get("sha256", ""))
                    except (OSError, ValueError):
                        out.append("unreadable")
                    break
    return tuple(out)


def key(name: str, args: tuple, kwargs: dict) -> str | None:
    """The file name of a call's result, or None when an argument is not plain (not stored)."""
    if not _is_plain(args) or not _is_plain(kwargs):
        return None
    text = repr((name, args, sorted(kwargs.items()), _weights(args + tuple(kwargs.values()))))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def path_of(name: str, key_: str) -> Path | None:
    base = folder()
    return None if base is None else base / code_version() / name / f"{key_}.pkl"


def read(path: Path):
    """(True, result) from a whole, current file; (False, None) where there is none, and where it is corrupt or of
    another version (then it is deleted, and the caller computes the result again)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False, None
    header, _, payload = data.partition(b"\n")
    expected = MAGIC + code_version().encode() + b" " + hashlib.sha256(payload).hexdigest().encode()
    if header == expected:
        try:
            os.utime(path)  # recently used: evicted last
            return True, pickle.loads(payload)
        except Exception as e:  # noqa: BLE001 (a file that unpickles badly is recomputed, whatever the error)
            LOG.warning("result store: %s does not unpickle (%s); recomputing", path, e)
    else:
        LOG.warning("result store: %s is corrupt or of another version; recomputing", path)
    path.unlink(missing_ok=True)
    return False, None


def write(path: Path, value):
    """Atomically: a temporary file in the same folder, then os.replace. A value that does not pickle is not stored."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001
        LOG.warning("result store: %s not stored (%s)", path.parent.name, e)
        return
    header = MAGIC + code_version().encode() + b" " + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            f.write(header + payload)
        os.replace(tmp, path)
    except OSError as e:  # a full or read-only disk: the result is still returned, just not kept
        LOG.warning("result store: could not write %s (%s)", path, e)
        return
    trim(path.parents[2])


def trim(base: Path, limit: int | None = None):
    """Delete files until the folder holds at most 80% of `limit` bytes (default `limit_bytes()`) once it is over:
    the largest files of the least recently used first (score: size x seconds since last use); old versions' empty
    folders go too."""
    limit = limit_bytes() if limit is None else limit
    with _trim_lock:
        files = []
        for path in base.rglob("*.pkl"):
            try:
                st = path.stat()
            except OSError:
                continue
            files.append((st.st_size, st.st_mtime, path))
        total = sum(f[0] for f in files)
        if total <= limit:
            return
        now = time.time()
        for size, _mtime, path in sorted(files, key=lambda f: -f[0] * (now - f[1] + 1)):
            path.unlink(missing_ok=True)
            total -= size
            if total <= 0.8 * limit:
                break
        for version in base.iterdir():
            if version.is_dir() and version.name != code_version() and not any(version.rglob("*.pkl")):
                shutil.rmtree(version, ignore_errors=True)


def persisted(func=None, *, name: str | None = None):
    """Decorator: a call whose arguments are plain returns the stored result where there is a good one, else computes
    it and stores it. `name` (default module.qualname) names the function's folder."""
    if func is None:
        return functools.partial(persisted, name=name)
    label = name or label_of(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return remembered(label, args, kwargs, lambda: func(*args, **kwargs))

    return wrapper


def label_of(func) -> str:
    """A function's folder name: its file's stem and qualified name (pages run as `__main__`, so not the module)."""
    return f"{Path(func.__code__.co_filename).stem}.{func.__qualname__}".replace("<", "").replace(">", "")


def remembered(label: str, args: tuple, kwargs: dict, compute):
    """The stored result of the call `label(*args, **kwargs)` where there is a good one, else `compute()`, stored."""
    k = key(label, args, kwargs)
    path = None if k is None else path_of(label, k)
    if path is not None:
        found, value = read(path)
        if found:
            return value
    value = compute()
    if path is not None:
        write(path, value)
    return value
