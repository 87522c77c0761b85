"""The result store on disk (frame/store.py): a result survives (a second call reads it, not the function), a corrupt,
truncated or other version's file is recomputed and never returned, arguments that are not plain are not stored, a
retrained zoo model gets a new key, and the folder is trimmed to its byte limit, largest and oldest first."""

import os
import pickle

import pytest

from frame import store


@pytest.fixture
def results(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "zoo"))
    return tmp_path / "results"


def counting():
    calls = []

    @store.persisted
    def square(x, scale=1.0):
        calls.append(x)
        return {"x": x, "y": [x * x * scale] * 10}

    return square, calls


def files(folder):
    return sorted(folder.rglob("*.pkl"))


def test_a_result_is_read_back_instead_of_recomputed(results):
    square, calls = counting()
    assert square(3) == square(3) == {"x": 3, "y": [9.0] * 10}
    assert calls == [3]
    assert square(3, scale=2.0)["y"][0] == 18.0 and calls == [3, 3]  # another argument: another entry
    (path,) = [p for p in files(results) if store.key(store.label_of(square.__wrapped__), (3,), {}) in p.name]
    assert path.parent.parent.name == store.code_version()
    assert not [p for p in results.rglob(".tmp-*")]  # the temporary file was renamed, not left behind


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "other_version", "garbage"])
def test_a_damaged_or_stale_entry_is_recomputed_never_shown(results, damage):
    square, calls = counting()
    square(4)
    (path,) = files(results)
    data = path.read_bytes()
    header, _, payload = data.partition(b"\n")
    poisoned = pickle.dumps({"x": 4, "y": ["wrong"]})
    if damage == "flip":  # one byte of the pickled result changed: the checksum no longer matches
        data = data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "header":  # a good checksum of another payload
        data = header + b"\n" + poisoned
    elif damage == "other_version":  # a well-formed file written by other code
        import hashlib

        data = (store.MAGIC + b"0123456789abcdef " + hashlib.sha256(poisoned).hexdigest().encode() + b"\n" + poisoned)
    else:
        data = os.urandom(200)
    path.write_bytes(data)
    assert square(4) == {"x": 4, "y": [16.0] * 10}
    assert calls == [4, 4]
    assert store.read(path) == (True, {"x": 4, "y": [16.0] * 10})  # rewritten whole


def test_new_code_reads_none_of_the_old_results(results, monkeypatch):
    square, calls = counting()
    square(5)
    current = store.code_version()
    monkeypatch.setattr(store, "code_version", lambda: "feedfeedfeedfeed")
    square(5)
    assert calls == [5, 5]
    assert {p.parent.parent.name for p in files(results)} == {"feedfeedfeedfeed", current}


def test_arguments_that_are_not_plain_are_computed_and_not_stored(results):
    calls = []

    @store.persisted
    def name_of(thing):
        calls.append(thing)
        return type(thing).__name__

    assert name_of(object()) == name_of(object()) == "object"
    assert len(calls) == 2 and not files(results)


def test_off_stores_nothing(results, monkeypatch):
    monkeypatch.setenv("SKIPLAB_RESULTS", "off")
    square, calls = counting()
    square(1), square(1)
    assert calls == [1, 1] and not results.exists()


def test_a_retrained_zoo_model_gets_a_new_key(results, tmp_path):
    card = tmp_path / "zoo" / "my-resnet8.json"
    card.parent.mkdir()
    card.write_text('{"config": {}, "sha256": "aaaa"}')
    first = store.key("f", ("my-resnet8", 3), {})
    assert store.key("f", ("my-resnet8", 3), {}) == first
    card.write_text('{"config": {}, "sha256": "bbbb"}')
    assert store.key("f", ("my-resnet8", 3), {}) != first
    assert store.key("f", ("not-a-model", 3), {}) == store.key("f", ("not-a-model", 3), {})


def test_the_folder_is_trimmed_largest_and_oldest_first(results):
    big = {f"big{i}": os.urandom(40_000) for i in range(3)}
    small = {f"small{i}": os.urandom(2_000) for i in range(10)}
    for name, value in {**big, **small}.items():
        store.write(results / store.code_version() / "f" / f"{name}.pkl", value)
    before = files(results)
    assert len(before) == 13
    store.trim(results, limit=60_000)
    left = {p.stem for p in files(results)}
    assert sum(p.stat().st_size for p in files(results)) <= 0.8 * 60_000
    assert set(small) <= left and len(left & set(big)) <= 1  # the large entries went first


def test_the_default_folder_is_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_RESULTS", "")
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "data"))
    assert store.folder() == tmp_path / "data" / "results"
