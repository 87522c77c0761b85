"""viz.words.model_name: the one way a zoo model is named to a person."""

from tests.pages.screen_text import defects
from viz.words import model_name


def test_model_names_are_a_persons_words():
    assert model_name("cifar10-resnet56-published") == "ResNet-56, published weights"
    assert model_name("cifar10-plain56") == "plain-56"
    assert model_name("shapes-resnet20") == "ResNet-20 on shapes"
    assert model_name("shapes-resnet8-20261201-120300") == "ResNet-8 on shapes, trained 2026-12-01 12:03"
    assert model_name("my-own-net") == "my-own-net"  # not a zoo id of ours: as it is
    assert model_name("cifar10-resnet20-dutta") == "ResNet-20, Dutta's published weights"
    assert model_name("untrained-resnet20") == "ResNet-20, untrained"  # Inspect's stand-in, not "on untrained"
    names = [model_name(f"{d}-{k}{n}{p}") for d in ("cifar10", "shapes") for k in ("resnet", "plain")
             for n in (20, 56, 110) for p in ("", "-published", "-dutta")]
    assert defects(names) == []  # the audit's rule finds no internal id in them
