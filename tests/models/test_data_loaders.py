"""Loaders for real data: the CIFAR-10 download path (against a loopback HTTP server serving a small
archive in the official format, built here), the ImageFolder loader on real JPEGs from the shared
archive, bad data, and the augmentation (numpy slicing as the oracle)."""

import functools
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models import data
from models.data import augment, dataset_info, download_cifar10, folders, load_dataset, load_image_folder

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar10-jpg.tar.gz"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "cache"))  # never touch the real cache


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    y = [int(v) for v in rng.integers(0, 10, n)]
    return {b"batch_label": b"batch", b"labels": y, b"data": x, b"filenames": [b"f%d.png" % i for i in range(n)]}


def _official_archive(path, n=12):
    """A tiny cifar-10-python.tar.gz in the official layout; returns {file: batch dict}."""
    batches = {f"data_batch_{i}": _batch(n, i) for i in range(1, 6)} | {"test_batch": _batch(n, 9)}
    with tarfile.open(path, "w:gz") as tar:
        for name, d in batches.items():
            b = pickle.dumps(d, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(b)
            tar.addfile(info, io.BytesIO(b))
    return batches


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over tmp_path/www; yields its base URL."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_extracts_and_loads(server, tmp_path):
    url, www = server
    batches = _official_archive(www / "c.tar.gz")
    md5 = hashlib.md5((www / "c.tar.gz").read_bytes()).hexdigest()
    root = tmp_path / "root"
    folder = download_cifar10(root, url=f"{url}/c.tar.gz", md5=md5, progress=False)
    assert (folder / "test_batch").is_file() and (root / data.CIFAR10_ARCHIVE).is_file()
    x, y = load_dataset("cifar10", "train", root=root)
    want = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert x.dtype == torch.uint8 and x.shape == (60, 3, 32, 32)
    assert np.array_equal(x.numpy(), want)
    assert y.tolist() == sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    xt, yt = load_dataset("cifar10", "test", root=root)
    assert np.array_equal(xt.numpy()[:, 0].reshape(12, -1), batches["test_batch"][b"data"][:, :1024])  # red plane first
    assert yt.dtype == torch.int64 and yt.tolist() == batches["test_batch"][b"labels"]


def test_checksum_mismatch_deletes_the_file(server, tmp_path):
    url, www = server
    _official_archive(www / "c.tar.gz")
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download_cifar10(root, url=f"{url}/c.tar.gz", md5="0" * 32, progress=False)
    assert list(root.iterdir()) == []  # nothing kept, nothing extracted


def test_local_archive_with_wrong_checksum_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    _official_archive(root / data.CIFAR10_ARCHIVE)  # not the official bytes
    with pytest.raises(ValueError, match="checksum"):
        load_dataset("cifar10", "test", root=root)


def test_a_batch_that_references_code_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}))
    with pytest.raises(ValueError, match="builtins.print"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_missing_cifar10_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="download"):
        load_dataset("cifar10", "train", root=tmp_path)


def _real_jpegs(dest, per_class=5, classes=("cat", "ship", "truck")):
    """Extract a few real JPEGs of the shared archive into dest/{train,test}/<class>/."""
    if not SHARED.is_file():
        pytest.skip(f"{SHARED} not here")
    need = {(s, c): per_class for s in ("train", "test") for c in classes}
    with tarfile.open(SHARED, "r:gz") as tar:
        for m in tar:
            parts = Path(m.name).parts
            if len(parts) == 4 and m.isfile() and need.get((parts[1], parts[2]), 0) > 0:
                need[(parts[1], parts[2])] -= 1
                out = dest / parts[1] / parts[2] / parts[3]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(m).read())
                if not any(need.values()):
                    break
    return dest


def test_image_folder_on_real_jpegs(tmp_path):
    root = _real_jpegs(tmp_path / "photos")
    x, y, classes, skipped = load_image_folder(root, "train")
    assert classes == ["cat", "ship", "truck"] and skipped == []
    assert x.shape == (15, 3, 32, 32) and x.dtype == torch.uint8
    assert y.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    first = sorted((root / "train" / "cat").iterdir())[0]
    oracle = np.asarray(Image.open(first).convert("RGB")).transpose(2, 0, 1)  # already 32x32: no resampling
    assert np.array_equal(x[0].numpy(), oracle)
    xs, ys = load_dataset(str(root), "test")
    assert xs.shape == (15, 3, 32, 32) and ys.bincount().tolist() == [5, 5, 5]
    # the decoded split is cached; a second load is the same tensor
    x2, *_ = load_image_folder(root, "train")
    assert torch.equal(x, x2) and list((tmp_path / "cache" / "decoded").glob("photos-train-*.npz"))
    info = dataset_info(str(root))
    assert info.classes == ("cat", "ship", "truck")
    assert np.allclose(info.mean, (x.float() / 255).mean((0, 2, 3)).numpy(), atol=1e-4)


def test_unreadable_image_is_skipped_and_counted(tmp_path):
    root = _real_jpegs(tmp_path / "photos", per_class=2, classes=("cat", "dog"))
    (root / "train" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    x, y, classes, skipped = load_image_folder(root, "train")
    assert len(x) == 4 and [p.name for p in skipped] == ["broken.jpg"]
    with pytest.warns(UserWarning, match="1 unreadable"):
        load_dataset(str(root), "train")


def test_user_folder_without_split_holds_out_every_fifth(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("apple", "pear"):
        (tmp_path / "fruit" / c).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(tmp_path / "fruit" / c / f"{i:02d}.png")
    xtr, ytr = load_dataset(str(tmp_path / "fruit"), "train")
    xte, yte = load_dataset(str(tmp_path / "fruit"), "test")
    assert xtr.shape == (16, 3, 32, 32) and xte.shape == (4, 3, 32, 32)
    assert ytr.bincount().tolist() == [8, 8] and yte.bincount().tolist() == [2, 2]
    # 64x48 is centre-cropped to 48x48, then resized as an upload is (models.uploads: Lanczos, reducing_gap 3):
    # the oracle is Pillow on the same file
    im = Image.open(tmp_path / "fruit" / "apple" / "04.png").convert("RGB").crop((0, 8, 48, 56))
    im = im.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert np.array_equal(xte[0].numpy(), np.asarray(im).transpose(2, 0, 1))


def test_a_folder_and_an_upload_give_the_same_pixels(tmp_path):
    """One decoder (models.uploads.decode_image) for both routes: the same file reaches the model with the same
    pixels whether it is uploaded or read from a folder; a TIFF is refused by both, and the folder reports it."""
    from models.uploads import decode_image

    rng = np.random.default_rng(2)
    files = {"wide.png": rng.integers(0, 256, (40, 90, 3), dtype=np.uint8), "tall.jpg": rng.integers(0, 256, (120, 50, 3), dtype=np.uint8),
             "photo.webp": rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)}
    (tmp_path / "f" / "a").mkdir(parents=True)
    for n, a in files.items():
        Image.fromarray(a).save(tmp_path / "f" / "a" / n)
    Image.fromarray(files["wide.png"]).save(tmp_path / "f" / "a" / "scan.tif")
    x, y, classes, skipped = load_image_folder(tmp_path / "f", "train", cache=False)  # 4 files: every 5th is test
    names = sorted(p.name for p in (tmp_path / "f" / "a").iterdir())
    assert [p.name for p in skipped] == ["scan.tif"]
    with pytest.raises(ValueError, match="TIFF"):
        decode_image((tmp_path / "f" / "a" / "scan.tif").read_bytes(), "scan.tif")
    read = [n for n in names if n != "scan.tif"]
    assert len(x) == len(read)
    for i, n in enumerate(read):
        up = decode_image((tmp_path / "f" / "a" / n).read_bytes(), n)
        assert np.array_equal(x[i].numpy(), up.pixels.transpose(2, 0, 1)), n


def test_the_decoded_cache_is_keyed_by_the_decoder(tmp_path, monkeypatch):
    root = _real_jpegs(tmp_path / "photos", per_class=1, classes=("cat",))
    load_image_folder(root, "train")
    monkeypatch.setattr(folders, "DECODER_VERSION", "another-decoder")  # read in models/data/folders.py
    load_image_folder(root, "train")
    assert len(list((tmp_path / "cache" / "decoded").glob("photos-train-*.npz"))) == 2  # old pixels never reused


def test_bad_folders_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="unknown data set"):
        load_dataset(str(tmp_path / "nope"), "train")
    (tmp_path / "d" / "train" / "a").mkdir(parents=True)
    (tmp_path / "d" / "test").mkdir()
    with pytest.raises(ValueError, match="class folder 'a'.*no images"):
        load_dataset(str(tmp_path / "d"), "train")
    with pytest.raises(ValueError, match="no class folders"):
        load_dataset(str(tmp_path / "d"), "test")
    with pytest.raises(ValueError, match="split"):
        load_dataset("shapes", "val")


def test_cifar10_from_the_extracted_jpg_folder_uses_official_label_order(tmp_path):
    root = _real_jpegs(tmp_path / "root" / data.CIFAR10_JPG_DIR, per_class=1, classes=data.CIFAR10_CLASSES)
    x, y = load_dataset("cifar10", "test", root=root.parent)
    assert x.shape == (10, 3, 32, 32) and y.tolist() == list(range(10))


def test_augment_is_a_padded_crop_or_its_mirror():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (4, 4), (4, 4)))
    flips = 0
    for i in range(16):
        crops = [xp[i, :, a : a + 32, b : b + 32] for a in range(9) for b in range(9)]
        plain = any(np.array_equal(out[i].numpy(), c) for c in crops)
        mirrored = any(np.array_equal(out[i].numpy(), c[:, :, ::-1]) for c in crops)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 0 < flips < 16  # both happen
    again = augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # reproducible from the generator
