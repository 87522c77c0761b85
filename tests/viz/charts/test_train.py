"""viz.train_charts' Degradation chart (He et al. Fig. 6) for any data set with shipped histories: which data sets
it offers, and a comparison text computed from the histories shown, honest about missing models. The shipped folder
is a temporary one holding cards only (fake histories, no weights)."""

import json

import pytest

from models import registry, zoo
from viz.charts import train as tc
from viz.measures import train as vt


def card(name, dataset, depth, skip, train_err, test_err):
    """A card with a history: train_err/test_err are per-epoch errors in %."""
    hist = [{"epoch": i + 1, "train_acc": 1 - a / 100, "test_acc": 1 - b / 100, "seconds": 10.0 * (i + 1)}
            for i, (a, b) in enumerate(zip(train_err, test_err, strict=True))]
    return {"name": name, "dataset": dataset, "config": {"depth": depth, "skip": skip}, "epochs": len(hist),
            "test_acc": hist[-1]["test_acc"], "train_acc": hist[-1]["train_acc"], "history": hist}


# plain-56 worse than plain-20 (degradation); ResNet-56 better than ResNet-20, as in He et al.
CIFAR = {"cifar10-plain20": (20, False, [60, 30, 15], [62, 33, 18]),
         "cifar10-plain56": (56, False, [80, 50, 25], [81, 52, 27]),
         "cifar10-resnet20": (20, True, [50, 20, 8], [52, 22, 10]),
         "cifar10-resnet56": (56, True, [45, 15, 5], [47, 18, 8.5])}


def ship(monkeypatch, folder, models):
    folder.mkdir(exist_ok=True)
    for name, (depth, skip, a, b) in models.items():
        (folder / f"{name}.json").write_text(json.dumps(card(name, name.split("-")[0], depth, skip, a, b)))
    monkeypatch.setattr(zoo, "SHIPPED", folder)
    monkeypatch.setenv("SKIPLAB_ZOO", str(folder.parent / "user"))


@pytest.fixture
def shipped(monkeypatch, tmp_path):
    def make(models):
        ship(monkeypatch, tmp_path / "shipped", models)
        return zoo.list()
    return make


def test_cifar10_is_offered_with_its_first_model_and_default_once_all_four_are_shipped(shipped):
    three = {k: v for k, v in CIFAR.items() if k != "cifar10-plain56"}
    shapes = {"shapes-resnet20": (20, True, [30, 5], [31, 6])}
    assert vt.degradation_sets(shipped({})) == ([], None)
    assert vt.degradation_sets(shipped({"cifar10-resnet20": CIFAR["cifar10-resnet20"]})) == (["cifar10"], "cifar10")
    assert vt.degradation_sets(shipped({**shapes, **three})) == (["shapes", "cifar10"], "shapes")
    assert vt.degradation_sets(shipped({**shapes, **CIFAR})) == (["shapes", "cifar10"], "cifar10")


def test_the_text_is_computed_from_the_histories_shown(shipped):
    shipped(CIFAR)
    h = zoo.histories("cifar10", (20, 56))
    assert set(h.name) == set(CIFAR)
    text = tc.finding(h, registry.dataset("cifar10"))
    assert "**Ours (CIFAR-10, 3 epochs, one recipe for all):**" in text and "not shipped" not in text
    # final and mean training errors of each model, as the histories give them
    assert "plain-56 vs plain-20: final training error 25.00% vs 15.00%, mean over the epochs 51.67% vs 35.00%, " \
           "so plain-56 trained **worse**" in text
    assert "ResNet-56 vs ResNet-20: final training error 5.00% vs 8.00%" in text and "ResNet-56 trained **better**" in text
    assert "As in He et al., the deeper plain net trained worse." in text
    assert "As in He et al., the deeper ResNet trained better." in text
    assert "ResNet-20 test error 10.00% (He et al.: 8.75%)" in text and "ResNet-56 test error 8.50% (He et al.: 6.97%)" in text
    assert "Shapes is easier" not in text and "chance level" not in text
    fig, caption = tc.degradation(h, registry.dataset("cifar10"))
    assert fig.layout.title.text.startswith("CIFAR-10:") and len(fig.data) == 8
    assert "plain-56 training error 25.00%, test error 27.00% after 3 epochs" in caption and "Not shipped" not in caption


def test_the_opposite_findings_and_a_missing_model_are_said(shipped):
    flipped = dict(CIFAR)
    flipped["cifar10-resnet56"] = (56, True, [55, 25, 9], [56, 27, 11])  # deeper ResNet worse
    flipped["cifar10-plain56"] = (56, False, [50, 20, 10], [52, 22, 12])  # deeper plain better
    shipped(flipped)
    text = tc.finding(zoo.histories("cifar10", (20, 56)), registry.dataset("cifar10"))
    assert "Unlike He et al., our plain-56 did not train worse than plain-20." in text
    assert "Unlike He et al., our ResNet-56 did not beat ResNet-20 within this 55x shorter budget." in text

    shipped({k: v for k, v in CIFAR.items() if k != "cifar10-plain56"})
    (zoo.SHIPPED / "cifar10-plain56.json").unlink()
    h = zoo.histories("cifar10", (20, 56))
    text = tc.finding(h, registry.dataset("cifar10"))
    assert "one recipe for all; plain-56 not shipped yet):**" in text
    assert "plain-56 vs" not in text and "deeper plain" not in text  # nothing said about a model not shown
    assert "As in He et al., the deeper ResNet trained better." in text
    assert tc.missing(h, registry.dataset("cifar10")) == ["plain-56"]
    assert tc.degradation(h, registry.dataset("cifar10"))[1].endswith("Not shipped yet: plain-56.")


def test_a_net_stuck_at_chance_is_named(shipped):
    shipped({"shapes-plain20": (20, False, [40, 3], [41, 4]), "shapes-plain56": (56, False, [90, 88], [90, 89])})
    text = tc.finding(zoo.histories("shapes", (20, 56)), registry.dataset("shapes"))
    assert "plain-56 stayed near chance level: 88% training error after 2 epochs" in text
    assert "ours barely trained in this 82x shorter budget" in text
    assert "ResNet-20 not shipped yet, ResNet-56 not shipped yet" in text and "Shapes is easier" in text


def test_degradation_draws_he_et_als_two_panels_with_a_replay(shipped):
    shipped(CIFAR)
    h = zoo.histories("cifar10", (20, 56))
    fig, caption = tc.degradation(h, registry.dataset("cifar10"))
    # plain nets left, ResNets right, on one error axis; one colour per depth; training dashed, test bold (the paper's)
    assert {t.xaxis for t in fig.data} == {"x", "x2"} and fig.layout.yaxis2.matches == "y" and len(fig.data) == 8
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert len(left) == len(right) == 4 and all(t.showlegend for t in left) and not any(t.showlegend for t in right)
    assert sorted(round(t.y[-1], 6) for t in left) == [15, 18, 25, 27]  # plain-20/56: train 15/25, test 18/27
    for t in fig.data:
        assert t.line.dash == ("dash" if "training" in t.name else "solid")
        assert t.line.color == tc.DEPTH_COLORS[20 if t.name.startswith("20") else 56]
    assert t.line.width > min(u.line.width for u in fig.data)  # the test lines are bolder
    assert "dashed: training, bold: test" in fig.layout.title.text and fig.layout.yaxis.type == "log"
    assert [str(t) for t in fig.layout.yaxis.ticktext] == ["5", "10", "20", "50", "100"]  # whole numbers
    # the replay: one frame per epoch, frame e holds the first e epochs; the figure opens on the whole run
    assert [f.name for f in fig.frames] == ["1", "2", "3"]
    assert [len(t.x) for t in fig.frames[0].data] == [1] * 8 and list(fig.frames[-1].data[0].y) == list(fig.data[0].y)
    assert fig.layout.updatemenus[0].buttons[0].label == "▶ Replay" and len(fig.layout.sliders[0].steps) == 3
    assert caption.headline.startswith("CIFAR-10: plain-56 trained worse than plain-20 (51.7% vs 35.0% mean")
    assert "ResNet-56 trained better than ResNet-20 (21.7% vs 26.0%" in caption.headline
    assert "Fig. 6" in caption and "dashed lines training error, bold lines test error" in caption


def test_the_live_run_charts_say_how_far_each_net_got():
    rec = vt.Recorder()
    for e in (1, 2):
        for s in (1, 2):
            rec.step("ResNet-8", True, {"epoch": e, "step": s, "steps": 2, "loss": 2.3 / (e * s), "acc": 0.1 * e * s})
        rec.epoch("ResNet-8", True, {"epoch": e, "test_loss": 1.0 / e, "test_acc": 0.3 * e})
    (loss, loss_cap), (acc, acc_cap) = tc.run_charts(*rec.tables(), chance=0.1)
    assert acc_cap.headline == "ResNet-8: 60.0% test accuracy after 2 epochs (6.0× chance, 10%)."
    assert loss_cap.headline.startswith("ResNet-8: training loss 2.30 → ") and "test loss 0.5 after epoch 2" in loss_cap
    assert acc.data[0].line.color == tc.KIND[True] and acc.layout.yaxis.tickformat == ".0%"
    assert vt.plural(1, "epoch") == "1 epoch" and vt.plural(3, "epoch") == "3 epochs"
