"""The model zoo: save/load round trip, rejection of bad files, and the shipped checkpoints."""

import json
import pickle
import re

import pytest
import torch

from models import zoo
from models.data import make_shapes
from models.resnet import ResNet, ResNetConfig


@pytest.fixture
def user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    return tmp_path


def _saved(folder, name="unit-resnet8", **cfg):
    torch.manual_seed(0)
    model = ResNet(ResNetConfig(depth=8, **cfg))
    with torch.no_grad():
        for m in model.modules():  # non-trivial BN statistics, so a lost buffer would show
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    zoo.save(model, {"dataset": "shapes", "epochs": 1, "test_acc": 0.5, "history": [{"epoch": 1}]}, folder, name)
    return model.eval()


def test_round_trip_and_catalog(user_zoo):
    model = _saved(user_zoo)
    loaded = zoo.load("unit-resnet8")
    assert loaded.training is False and loaded.config == model.config
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    cat = zoo.list()
    row = cat[cat["name"] == "unit-resnet8"].iloc[0]
    assert row["source"] == "user" and row["depth"] == 8 and bool(row["skip"])
    assert {"name", "dataset", "depth", "skip", "test_acc", "epochs", "seconds", "path"} <= set(cat.columns)
    c = zoo.card("unit-resnet8")
    assert c["history"] == [{"epoch": 1}] and len(c["sha256"]) == 64 and c["params"] == sum(p.numel() for p in model.parameters())


def test_truncated_file_is_rejected(user_zoo):
    _saved(user_zoo)
    w = user_zoo / "unit-resnet8.safetensors"
    w.write_bytes(w.read_bytes()[:-1000])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        zoo.load("unit-resnet8")
    # without the checksum in the card, safetensors itself refuses the file: still a ValueError
    card = json.loads((user_zoo / "unit-resnet8.json").read_text())
    del card["sha256"]
    (user_zoo / "unit-resnet8.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="not a readable safetensors"):
        zoo.load("unit-resnet8")


def test_a_pickle_is_never_loaded(user_zoo):
    _saved(user_zoo)
    card = json.loads((user_zoo / "unit-resnet8.json").read_text())
    del card["sha256"]
    (user_zoo / "unit-resnet8.json").write_text(json.dumps(card))
    (user_zoo / "unit-resnet8.safetensors").write_bytes(pickle.dumps({"conv.weight": torch.zeros(1)}))
    with pytest.raises(ValueError, match="safetensors"):
        zoo.load("unit-resnet8")


def test_weights_that_do_not_match_the_card_are_rejected(user_zoo):
    _saved(user_zoo)
    card = json.loads((user_zoo / "unit-resnet8.json").read_text())
    card["config"]["depth"] = 14  # the card now claims another architecture
    (user_zoo / "unit-resnet8.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="does not match"):
        zoo.load("unit-resnet8")
    card["config"]["depth"], card["config"]["width"] = 8, 8  # same keys, other shapes
    (user_zoo / "unit-resnet8.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="shape"):
        zoo.load("unit-resnet8")
    card["config"]["width"] = 16
    card["config"]["depth"] = 7
    (user_zoo / "unit-resnet8.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="not a valid ResNet"):
        zoo.load("unit-resnet8")


def test_bad_names_and_cards(user_zoo):
    with pytest.raises(ValueError, match="no zoo model named"):
        zoo.load("shapes-resnet9000")
    with pytest.raises(ValueError, match="not a zoo model name"):
        zoo.load("../../etc/passwd")
    (user_zoo / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="not readable JSON"):
        zoo.card("broken")
    with pytest.warns(UserWarning, match="broken.json"):
        names = zoo.list()["name"].tolist()
    assert "broken" not in names


SHIPPED = sorted(zoo.SHIPPED.glob("*.json"))
TRAINED = [p for p in SHIPPED if json.loads(p.read_text()).get("origin", zoo.TRAINED_HERE) == zoo.TRAINED_HERE]
PUBLISHED = [p for p in SHIPPED if p not in TRAINED]


def test_shipped_weights_fit_the_budget_and_follow_the_naming():
    """50 MB: the 16 models trained here, akamaster's 4 published ResNets and the 4 published twins."""
    total = sum(p.stat().st_size for p in zoo.SHIPPED.glob("*.safetensors"))
    assert total < zoo.BUDGET_MB * 2**20 and zoo.BUDGET_MB == 50
    for p in TRAINED:
        assert re.fullmatch(r"(shapes|cifar10)-(resnet|plain)\d+", p.stem), p.name
        c = json.loads(p.read_text())
        assert p.stem == f"{c['dataset']}-{'resnet' if c['config']['skip'] else 'plain'}{c['config']['depth']}"
        assert len(c["history"]) == c["epochs"] and c["command"].startswith(("python -m models.train", "torchrun"))
        assert c["test_acc"] == c["history"][-1]["test_acc"]


def test_shipped_published_networks_name_their_source_and_licence():
    twins = [p for p in PUBLISHED if json.loads(p.read_text()).get("author") == "Parag Dutta"]
    assert len(PUBLISHED) == 8 and sorted(p.stem for p in twins) == [
        "cifar10-plain20-dutta", "cifar10-plain56-dutta", "cifar10-resnet20-dutta", "cifar10-resnet56-dutta"]
    licence = (zoo.SHIPPED / "LICENSE-Basic-Image-Classification-ML").read_text()
    assert "Copyright (c) 2024, Parag Dutta" in licence and "Redistributions in binary form" in licence
    for p in twins:
        c = json.loads(p.read_text())
        assert "BSD 3-clause" in c["licence"] and c["url"].endswith("atreides-K/Basic-Image-Classification-ML")
        assert c["source_file"].split("-")[1].removesuffix(".pth") == c["source_sha256"][:8] and c["sample_images"] == 932
        assert c["config"]["std"] == [0.2023, 0.1994, 0.201] and c["config"]["skip"] == ("resnet" in p.stem)
        assert c["reading_measured"].startswith("Read as a " + ("residual" if c["config"]["skip"] else "plain"))
    licence = (zoo.SHIPPED / "LICENSE-pytorch_resnet_cifar10").read_text()
    assert "Copyright (c) 2018, Yerlan Idelbayev" in licence and "Redistributions in binary form" in licence
    for p in (p for p in PUBLISHED if p not in twins):
        c = json.loads(p.read_text())
        assert p.stem == f"cifar10-resnet{c['config']['depth']}-published" and c["origin"] == "published"
        assert c["source_file"].startswith(f"resnet{c['config']['depth']}-") and len(c["source_sha256"]) == 64
        assert c["source_file"].split("-")[1].removesuffix(".th") == c["source_sha256"][:8]  # the peer's naming
        assert "BSD 2-clause" in c["licence"] and 0 < c["reported_error"] < 0.1 and c["sample_images"] == 932
        assert c["config"]["mean"] == [0.485, 0.456, 0.406] and c["config"]["shortcut"] == "A"
    cat = zoo.list().set_index("name")
    assert set(cat.loc[[p.stem for p in PUBLISHED], "origin"]) == {"published"}
    assert set(cat.loc[[p.stem for p in TRAINED], "origin"]) == {zoo.TRAINED_HERE}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cifar10-resnet20", "cifar10-plain20"])  # the 56s: same code, 3x the time
def test_our_cifar10_pairs_reproduce_their_sample_accuracy(name):
    """Each card's sample_acc is what the model scores on the shipped 932 exact CIFAR-10 test images."""
    from models.data import load_dataset

    model, c = zoo.load(name), zoo.card(name)
    x, y = load_dataset("cifar10-sample", "test")
    with torch.no_grad():
        hits = sum(int((model(x[i : i + 250].float() / 255).argmax(1) == y[i : i + 250]).sum()) for i in range(0, len(y), 250))
    print(f"{name}: {hits / len(y):.2%} on the sample, {c['test_acc']:.2%} on the JPEG test split")
    assert c["sample_images"] == len(y) and c["sample_acc"] == pytest.approx(hits / len(y), abs=1.5 / len(y))


@pytest.mark.parametrize("card_path", [p for p in SHIPPED if p.stem in ("shapes-resnet8", "shapes-plain8", "shapes-resnet20", "shapes-plain20")],
                         ids=lambda p: p.stem)
def test_shipped_model_reproduces_its_card_accuracy(card_path):
    model = zoo.load(card_path.stem)
    x, y = make_shapes("test")
    with torch.no_grad():
        acc = torch.cat([model(x[i : i + 500].float() / 255).argmax(1) for i in range(0, len(x), 500)]).eq(y).float().mean()
    assert acc.item() == pytest.approx(zoo.card(card_path.stem)["test_acc"], abs=2e-3)  # 2e-3: NHWC vs NCHW rounding


def test_weights_readme_is_written_from_the_shipped_cards():
    """models/weights/README.md lists every shipped model with its card's numbers (regenerate with
    `python -m models.zoo readme > models/weights/README.md` after adding or retraining a model)."""
    text = (zoo.SHIPPED / "README.md").read_text()
    assert text == zoo.shipped_readme(), "models/weights/README.md is stale: regenerate it from the cards"
    shipped = zoo.list().query("source == 'shipped'")
    own, pub = text.split("## Published")
    for r in shipped.itertuples():
        part = own if r.origin == zoo.TRAINED_HERE else pub
        assert f"| `{r.name}` |" in part and (r.test_acc != r.test_acc or f"{r.test_acc:.2%}" in part)
        if isinstance(r.sample_acc, float) and r.sample_acc == r.sample_acc:
            assert f"{r.sample_acc:.2%}" in part
    for p in PUBLISHED:
        c = json.loads(p.read_text())
        assert f"{1 - c['reported_error']:.2%}" in pub and c["source_file"] in pub
    total = sum((zoo.SHIPPED / f"{n}.safetensors").stat().st_size for n in shipped.name)
    assert total < 50 * 2**20, f"shipped weights take {total / 2**20:.1f} MB, over the 50 MB budget"
    assert "50 MB" in text and "published" in text
