"""The Train page in AppTest: a tiny run saved to the user zoo, a diverging run shown as a message, a run on a
folder of the user's images (every class tested, class names on the card), the Degradation chart's data sets."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from models import registry, zoo
from models import train as T
from models.data import load_dataset, make_shapes
from models.resnet import ResNetConfig
from tests.viz.charts.test_train import CIFAR, ship

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    app.selectbox(key="tr_depth").set_value(8)
    app.number_input(key="tr_epochs").set_value(1)
    app.select_slider(key="tr_n").set_value(500)
    app.select_slider(key="tr_lr").set_value(0.1)  # the page's defaults before they became a class-time run:
    app.select_slider(key="tr_batch").set_value(128)  # the diverging run below diverges in its 2nd epoch with them
    return app


def test_a_tiny_run_is_saved_to_the_user_zoo(at, tmp_path):
    at.radio(key="tr_variant").set_value("residual")
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.success) == 1 and "Saved as" in at.success[0].value
    cat = zoo.list()
    mine = cat[cat.source == "user"]
    assert len(mine) == 1 and mine.iloc[0]["depth"] == 8 and mine.iloc[0]["epochs"] == 1
    name = mine.iloc[0]["name"]
    assert name.startswith("shapes-resnet8-")
    # the saved model is what the page reported: its accuracy on the page's 2,000 test images
    model = zoo.load(name)
    x, y = make_shapes("test")
    with torch.no_grad():
        acc = (model(x.float() / 255).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(zoo.card(name)["test_acc"], abs=2e-3)
    assert f"{acc:.2%}"[:-2] in at.success[0].value  # e.g. "10.7" of "10.75%"
    assert len(at.dataframe) >= 1  # the history table (with its CSV download)


def test_a_diverging_run_is_a_message_not_a_traceback(at):
    at.radio(key="tr_variant").set_value("residual")  # no normalization: a huge step blows the forward up
    at.radio(key="tr_norm").set_value("none")
    at.select_slider(key="tr_lr").set_value(10.0)
    at.number_input(key="tr_epochs").set_value(2)
    at.number_input(key="tr_seed").set_value(3)  # a seed whose net survives epoch 1 (0 and 2 never diverge at all)
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    msg = at.error[0].value
    assert "diverged" in msg and "loss became" in msg and "epoch 2" in msg and "Saved after epoch 1" in msg


def test_degradation_states_both_findings(at):
    text = " ".join(m.value for m in at.markdown)
    assert "He et al." in text and "Degradation" in " ".join(h.value for h in at.header)
    if not zoo.histories("shapes", (20, 56)).empty:
        assert "Ours" in text


def test_missing_data_is_a_clear_error(at, tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "empty"))
    at.selectbox(key="tr_dataset").set_value("cifar10")
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "CIFAR-10 not found" in at.error[0].value


CLASSES = ["ant", "bee", "cat"]


def image_folder(root, n_train, n_test):
    """train/<class>/*.png and test/<class>/*.png, one colour per class; listed class by class, as on disk.
    n_train, n_test: images per class (an int, or one per class)."""
    for split, ns in (("train", n_train), ("test", n_test)):
        for k, (c, n) in enumerate(zip(CLASSES, [ns] * 3 if isinstance(ns, int) else ns, strict=True)):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                a = np.full((8, 8, 3), 40, np.uint8)
                a[..., k], a[i % 8] = 220, 255
                Image.fromarray(a).save(root / split / c / f"{i:04d}.png")
    return root


@pytest.fixture
def evaluated(monkeypatch):
    """The labels of the test images models.train evaluates, one set per epoch."""
    seen, evaluate = [], T.evaluate

    def spy(model, x, y, *args, **kwargs):
        seen.append(sorted(set(y.tolist())) + [len(y)])
        return evaluate(model, x, y, *args, **kwargs)

    monkeypatch.setattr(T, "evaluate", spy)
    return seen


def test_train_tests_a_random_subset_holding_every_class(tmp_path, monkeypatch, evaluated):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "cache"))
    folder = image_folder(tmp_path / "pets", 12, 10)
    (xtr, ytr), (xte, yte) = load_dataset(str(folder), "train"), load_dataset(str(folder), "test")
    assert set(yte[:12].tolist()) == {0, 1}  # the first 12 test images miss a class: a subset must not be the first
    data = T.as_data(str(folder), (xtr, ytr), (xte, yte), test_limit=12, classes=CLASSES)
    res = T.train(ResNetConfig(depth=8), T.Recipe(2, batch_size=12, augment=False), data, zoo_dir=tmp_path / "zoo")
    assert evaluated == [[0, 1, 2, 12]] * 2  # every class, 12 images, the same subset both epochs
    card = json.loads((tmp_path / "zoo" / f"{res.card['name']}.json").read_text())
    assert card["classes"] == CLASSES and card["test_images"] == 12 and card["dataset"] == "pets"
    assert card["data_path"] == str(folder.resolve()) and registry.dataset(card["dataset"], card["data_path"]).source == str(folder.resolve())
    assert (T.subset(30, 12, 0) == T.subset(30, 12, 0)).all() and len(set(T.subset(30, 12, 0).tolist())) == 12


def test_a_run_on_my_folder_tests_every_class_and_keeps_the_class_names(at, tmp_path, monkeypatch, evaluated):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "cache"))
    folder = image_folder(tmp_path / "pets", 12, (1000, 1000, 50))  # the first 2,000 test images miss "cat"
    at.radio(key="tr_variant").set_value("residual")
    at.select_slider(key="tr_batch").set_value(32)
    monkeypatch.setenv("SKIPLAB_FOLDERS", str(folder))  # the server's operator offers it
    at.run()
    at.selectbox(key="tr_dataset").set_value("my folder").run()
    at.selectbox(key="tr_folder").set_value("pets").run()
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert evaluated == [[0, 1, 2, 2000]]  # 2,000 of the 2,050, every class among them
    name = zoo.list().query("source == 'user'").name.item()
    card = zoo.card(name)
    assert name.startswith("folder-resnet8-") and card["classes"] == CLASSES and card["test_images"] == 2000
    assert registry.model(name).dataset.source == str(folder.resolve())
    shutil.rmtree(folder)
    with pytest.raises(FileNotFoundError, match="not on this machine"):
        _ = registry.model(name).dataset.source


def test_degradation_offers_cifar10_and_says_what_is_missing(tmp_path, monkeypatch):
    shapes = {n: json.loads((zoo.SHIPPED / f"{n}.json").read_text()) for n in
              ("shapes-plain20", "shapes-plain56", "shapes-resnet20", "shapes-resnet56")}
    ship(monkeypatch, tmp_path / "shipped", {k: v for k, v in CIFAR.items() if k != "cifar10-plain56"})
    for n, c in shapes.items():
        (tmp_path / "shipped" / f"{n}.json").write_text(json.dumps(c))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception and not app.error
    deg = app.radio(key="tr_deg_dataset")
    assert deg.options == ["shapes", "cifar10"] and deg.value == "shapes"  # CIFAR-10 lacks plain-56: shapes first
    deg.set_value("cifar10").run()
    assert not app.exception and not app.error
    text = " ".join(m.value for m in app.markdown)
    assert "Ours (CIFAR-10, 3 epochs, one recipe for all; plain-56 not shipped yet)" in text
    assert "ResNet-56 vs ResNet-20: final training error 5.00% vs 8.00%" in text
    assert "Not shipped yet: plain-56." in " ".join(c.value for c in app.caption)
    assert "cifar10-resnet56" in set(app.dataframe[0].value.name)
    ship(monkeypatch, tmp_path / "shipped", CIFAR)  # plain-56 arrives: a fresh visit opens on CIFAR-10
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/train.py").run()
    assert app.radio(key="tr_deg_dataset").value == "cifar10"
    assert "As in He et al., the deeper plain net trained worse." in " ".join(m.value for m in app.markdown)


def test_a_link_to_cifar10_degradation_reopens_it_and_a_bad_one_falls_back(tmp_path, monkeypatch):
    ship(monkeypatch, tmp_path / "shipped", {**CIFAR, "shapes-resnet20": (20, True, [30, 5], [31, 6])})
    for value, want in (("shapes", "shapes"), ("imagenet", "cifar10")):
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        app.query_params["tr_deg_dataset"] = value
        app.switch_page("pages/train.py").run()
        assert not app.exception and not app.error
        assert app.session_state["tr_deg_dataset"] == want
        assert ("`tr_deg_dataset=imagenet` is not a valid data set of the shipped models" in
                " ".join(i.value for i in app.info)) == (value == "imagenet")


def _visible_words(block) -> int:
    """Words of prose (titles, headers, text, captions, messages) a visitor sees without opening an expander."""
    if getattr(block, "type", None) in ("expander", "expandable"):
        return 0
    children = getattr(block, "children", None)
    if children is not None:
        return sum(_visible_words(c) for c in children.values())
    if block.type in ("markdown", "caption", "title", "header", "subheader", "alert", "info", "success", "warning",
                      "error", "exception"):
        return len(str(block.value).split())
    return 0


def test_a_fresh_visit_says_one_thing_at_a_glance(at):
    """At most ~250 words of prose in view (the detail waits in expanders), one headline under each chart, and a
    one-line help on every control."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    words = _visible_words(app.main)
    assert 40 < words <= 250, words
    controls = [*app.selectbox, *app.radio, *app.number_input, *app.select_slider, *app.text_input, *app.button]
    ours = [w for w in controls if str(w.key).startswith("tr_")]
    assert len(ours) >= 12 and all(w.help and len(w.help) <= 120 for w in ours), [(w.key, w.help) for w in ours]
    defaults = {k: app.session_state[k] for k in ("tr_dataset", "tr_depth", "tr_variant", "tr_epochs", "tr_n", "tr_lr")}
    assert defaults == {"tr_dataset": "shapes", "tr_depth": 8, "tr_variant": "residual", "tr_epochs": 2, "tr_n": 10_000,
                        "tr_lr": 0.1}  # the class-time run: about 30 s on two idle cores, 45% test accuracy
    assert any("yours" in c.value and "nobody else" in c.value for c in app.caption)  # who sees a run, once
    if not zoo.histories("shapes", (20, 56)).empty:
        heads = [m.value for m in app.markdown if "Press ▶ Replay" in m.value]
        assert len(heads) == 1 and "trained worse than plain-20" in heads[0]


def test_cifar10_missing_says_what_to_do_in_a_users_words(at, tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "empty"))
    at.selectbox(key="tr_dataset").set_value("cifar10")
    at.button(key="tr_start").click().run()
    assert not at.exception and len(at.error) == 1
    msg = at.error[0].value
    assert "not found on this machine" in msg and "python -m models.data --download" in msg and "tar xzf" in msg
    assert "load_dataset" not in msg and "Could not" not in msg and not at.success  # no developer's words, no run


@pytest.mark.slow
def test_an_uploaded_checkpoint_is_read_measured_and_imported_or_refused_in_one_sentence(at, tmp_path):
    """A trained network's file (a shipped one, as a visitor would upload it): the page shows which tensor went
    where and the readings it measured, imports it under its default name, asks for another name when that one is
    taken, and refuses a bad file or an untrained network in one sentence, writing nothing."""
    from safetensors.torch import save

    from models.resnet import ResNet

    good = (zoo.SHIPPED / "cifar10-resnet20.safetensors").read_bytes()
    at.file_uploader(key="tr_upload").set_value(("mine.safetensors", good, "application/octet-stream")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    card = zoo.card(zoo.list().query("source == 'user'").name.item())
    assert card["name"].startswith("cifar10-resnet20-imported-") and card["reading"].startswith("a residual net")
    assert f"Imported as **{card['name']}**: {100 * card['sample_acc']:.1f}% right on 932 CIFAR-10 test images" in \
        at.success[-1].value
    assert any(i.value.startswith("Read as a residual net") for i in at.info)
    tables = [d.value for d in at.dataframe]
    mapping = next(t for t in tables if "skiplab" in t.columns)  # source module -> skiplab module
    readings = next(t for t in tables if "reading" in t.columns)
    assert "blocks.0.branch.conv1" in set(mapping.skiplab) and "fc" in set(mapping.source)
    assert readings.reading.iloc[0] == card["reading"] and len(readings) >= 2
    at.run()  # a rerun with the same upload does not import it again
    assert len(zoo.list().query("source == 'user'")) == 1 and not at.exception
    at.file_uploader(key="tr_upload").set_value(("again.safetensors", good, "application/octet-stream")).run()
    assert not at.exception and at.text_input(key="tr_import_name").value == f"{card['name']}-2"
    at.button(key="tr_import").click().run()
    assert set(zoo.list().query("source == 'user'").name) == {card["name"], f"{card['name']}-2"}
    user = sorted(p.name for p in tmp_path.iterdir())
    at.file_uploader(key="tr_upload").set_value(("bad.pt", b"not a checkpoint", "application/octet-stream")).run()
    assert not at.exception and len(at.error) == 1 and "bad.pt" in at.error[0].value
    net = ResNet(ResNetConfig(depth=8), seed=0)  # untrained: near chance however it is read
    raw = save({k: v.contiguous() for k, v in net.state_dict().items() if k not in ("mean", "std")})
    at.file_uploader(key="tr_upload").set_value(("init.safetensors", raw, "application/octet-stream")).run()
    assert not at.exception and len(at.error) == 1 and "near chance" in at.error[0].value
    assert sorted(p.name for p in tmp_path.iterdir()) == user  # nothing written on refusal


@pytest.mark.slow
def test_the_reading_of_an_upload_can_be_fixed_on_the_page(at):
    """Issue 26's overrides on the page: each choice fixed by the visitor is the only one measured (one reading tried,
    not the ten), and the sentence says it; the same file with its skips fixed to plain is read again, near chance."""
    good = (zoo.SHIPPED / "cifar10-resnet20.safetensors").read_bytes()
    at.selectbox(key="tr_read_skip").set_value("residual")
    at.selectbox(key="tr_read_pad").set_value("both")
    at.selectbox(key="tr_read_downsample").set_value("subsample")
    at.selectbox(key="tr_read_norm").set_value("cifar10")
    at.file_uploader(key="tr_upload").set_value(("fixed.safetensors", good, "application/octet-stream")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    sentence = next(i.value for i in at.info if i.value.startswith("Read as"))
    assert sentence.startswith("Read as a residual net") and "both sides" in sentence, sentence
    readings = next(d.value for d in at.dataframe if "reading" in d.value.columns)
    assert len(readings) == 1, readings  # nothing else measured
    at.selectbox(key="tr_read_skip").set_value("plain").run()  # the same file, read again as a plain net
    sentence = next(i.value for i in at.info if i.value.startswith("Read as"))
    assert not at.exception and sentence.startswith("Read as a plain net"), sentence
    accuracy = float(sentence.split(": ")[1].split("%")[0])  # a reading fixed by hand is measured and said, not
    assert accuracy < 20, sentence  # refused: the ResNet's weights read without skips are near chance (10%)


@pytest.mark.parametrize("offered", [False, True])
def test_a_link_never_names_a_folder_on_the_server(tmp_path, monkeypatch, offered):
    """?tr_dataset=my+folder&tr_folder=/any/path: the path is never read; only folders the server offers
    (SKIPLAB_FOLDERS) can be chosen, by name, and a link's other value falls back with a note."""
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "zoo"))
    secret = image_folder(tmp_path / "secret", 6, (12, 12, 12))
    pets = image_folder(tmp_path / "pets", 6, (12, 12, 12))
    monkeypatch.setenv("SKIPLAB_FOLDERS", str(pets) if offered else "")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update({"tr_dataset": "my folder", "tr_folder": str(secret)})
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.error
    assert not at.text_input  # nothing a visitor types is a path
    notes = " ".join(i.value for i in at.info)
    if offered:
        assert at.selectbox(key="tr_folder").options == ["pets"] and at.selectbox(key="tr_folder").value == "pets"
        assert "not a valid image folder (one of: pets)" in notes
    else:
        assert at.selectbox(key="tr_dataset").value == "shapes" and "my folder" not in at.selectbox(key="tr_dataset").options
        assert "not a valid data set" in notes
    assert str(secret) not in " ".join(str(v) for w in at.selectbox for v in w.options)


def test_train_both_draws_both_twins_curves_and_says_what_they_show(at, monkeypatch):
    from models import twins
    from models.train import Recipe

    tiny = twins.Demo("shapes", 64, ResNetConfig(depth=8, width=4), Recipe(epochs=2, batch_size=16, augment=False))
    monkeypatch.setattr(twins, "DEMO", tiny)  # the page reads models.twins.DEMO when it runs
    at.button(key="tr_twins").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    import base64

    live = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Training error, live" in c.proto.spec)
    steps = live["data"][0]["x"]  # (Plotly sends arrays as base64 bytes)
    steps = np.frombuffer(base64.b64decode(steps["bdata"]), steps["dtype"]).tolist() if "bdata" in steps else steps
    assert [d["name"] for d in live["data"]] == ["ResNet-8", "plain-8"] and steps == list(range(1, 9))
    said = " ".join(str(m.value) for m in at.markdown)
    assert "after 8 steps: plain-8 at" in said and "ResNet-8 at" in said


def test_presenting_the_twins_button_sits_by_the_title_and_its_live_chart_comes_first(at, monkeypatch):
    from models import twins
    from models.train import Recipe

    tiny = twins.Demo("shapes", 64, ResNetConfig(depth=8, width=4), Recipe(epochs=1, batch_size=16, augment=False))
    monkeypatch.setattr(twins, "DEMO", tiny)
    at.toggle(key="present").set_value(True).run()
    assert not at.exception and [h.value for h in at.header][:1] == ["Degradation: deeper plain nets train worse "
                                                                     "(He et al. 2015, Fig. 6)"]  # no twins section
    at.button(key="tr_twins").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    first = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "Training error, live" in json.dumps(first["layout"]["title"])  # the class's chart above the shipped one
    assert first["layout"]["font"]["size"] == 18  # drawn for the projector
