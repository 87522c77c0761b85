"""models/registry.py: one typed record per zoo model and data set; each card parsed once per file version."""


import pytest
import torch

from models import registry, zoo
from models.resnet import ResNet, ResNetConfig


@pytest.fixture
def user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    return tmp_path


def _save(folder, name, seed=0, **card):
    torch.manual_seed(seed)
    zoo.save(ResNet(ResNetConfig(depth=8)), {"dataset": "shapes", "test_acc": 0.9, **card}, folder, name)
    return folder / f"{name}.json"


def test_each_card_is_parsed_once_per_file_version(user_zoo):
    path = _save(user_zoo, "unit-resnet8")
    key = str(path.resolve())
    before = zoo.CARD_PARSES[key]
    for _ in range(3):  # a page run asks many times: the records, the card, the catalog
        registry.models()
        registry.model("unit-resnet8").card()
        zoo.card("unit-resnet8")
        zoo.list()
    assert zoo.CARD_PARSES[key] - before == 1
    _save(user_zoo, "unit-resnet8", seed=1)  # retrained under its name: a new file version, read once again
    assert registry.model("unit-resnet8").sha256 == zoo.sha256(path.with_suffix(".safetensors"))
    registry.models()
    assert zoo.CARD_PARSES[key] - before == 2


def test_a_copy_of_the_card_cannot_change_the_next_reader(user_zoo):
    _save(user_zoo, "unit-resnet8")
    zoo.card("unit-resnet8")["test_acc"] = 0.0
    assert registry.model("unit-resnet8").card()["test_acc"] == 0.9 and zoo.card("unit-resnet8")["test_acc"] == 0.9


def test_the_registry_lists_what_the_zoo_holds(user_zoo):
    _save(user_zoo, "unit-resnet8")
    assert [r.name for r in registry.models()] == list(zoo.list().name.drop_duplicates())
    _save(user_zoo, "unit-plain8")  # a new card is listed at once (no time-to-live)
    names = {r.name for r in registry.models()}
    assert {"unit-plain8", "unit-resnet8", "cifar10-resnet56-published"} <= names
    (user_zoo / "unit-plain8.json").unlink()
    assert "unit-plain8" not in {r.name for r in registry.models()}
    with pytest.raises(ValueError, match="no zoo model named 'unit-plain8'"):
        registry.model("unit-plain8")


def test_records_say_what_the_cards_say():
    for r in registry.models():
        card = r.card()
        assert (r.depth, r.skip, r.test_acc, r.sha256) == (card["config"]["depth"], card["config"]["skip"],
                                                           card.get("test_acc"), card["sha256"])
        assert r.origin == card.get("origin", zoo.TRAINED_HERE) and r.path.is_file()
        assert r.dataset.name == card["dataset"] and len(r.classes) == card["config"]["num_classes"]
    published = registry.model("cifar10-resnet56-published")
    assert published.architecture == "ResNet-56" and "BSD" in published.licence
    assert published.exact_pixels and published.dataset.cifar and published.test_split[0] in ("cifar10", "cifar10-sample")
    assert registry.model("shapes-plain20").architecture == "plain-20"


def test_data_set_display_names_have_no_internal_id():
    for d in registry.built_in_datasets():
        assert d.name not in d.display_name or d.name == "shapes", d.display_name  # "cifar10-sample": never


def test_data_set_records(tmp_path):
    shapes, cifar, sample = registry.built_in_datasets()
    assert shapes.generated and shapes.built_in and not shapes.cifar and shapes.test_split()[0] == "shapes"
    assert cifar.cifar and sample.cifar and not cifar.generated and cifar.classes == sample.classes
    assert len(shapes.mean) == len(cifar.std) == 3 and sample.test_split()[0] in ("cifar10", "cifar10-sample")
    (tmp_path / "birds" / "train").mkdir(parents=True)
    folder = registry.dataset(str(tmp_path / "birds"))
    assert (folder.name, folder.kind, folder.built_in, folder.source) == ("birds", "folder", False, str(tmp_path / "birds"))
    gone = registry.dataset("birds", str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match="which is not on this machine"):
        _ = gone.source
    with pytest.raises(FileNotFoundError, match="does not say where that folder is"):
        _ = registry.dataset("birds").source
    assert registry.opening_dataset(["shapes", "cifar10"]) == "cifar10" and registry.opening_dataset(["x"]) is None
