"""The training loop and CLI on tiny budgets: artefacts, resume, the NaN guard, stopping, torchrun."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from models import zoo
from models.data import make_shapes, subset
from models.resnet import ResNet, ResNetConfig
from models.train import (
    CHECKPOINT,
    HISTORY,
    HISTORY_COLUMNS,
    Data,
    Recipe,
    as_data,
    load_checkpoint,
    load_data,
    main,
    train,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = as_data("shapes", make_shapes("train", n=256), make_shapes("test", n=64))


def tiny(epochs, **recipe):
    """A recipe of batches of 64 (4 steps an epoch on DATA)."""
    return Recipe(epochs, batch_size=64, **recipe)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_run_writes_history_checkpoint_and_a_loadable_zoo_entry(tmp_path):
    res = train(ResNetConfig(depth=8), tiny(2), DATA, out=tmp_path)
    assert res.status == "done" and res.model.training is False
    hist = pd.read_csv(tmp_path / HISTORY)
    assert list(hist.columns) == HISTORY_COLUMNS and hist["epoch"].tolist() == [1, 2]
    assert hist["seconds"].is_monotonic_increasing
    # the history's test accuracy is what evaluating the returned model gives (PyTorch as the oracle)
    x, y = DATA.test
    with torch.no_grad():
        out = res.model(x.float() / 255)
    assert hist["test_acc"].iloc[-1] == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert hist["test_loss"].iloc[-1] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-4)
    loaded = zoo.load_path(tmp_path / "shapes-resnet8.json")
    with torch.no_grad():
        assert torch.allclose(loaded(x.float() / 255), out, atol=1e-5)
    assert loaded.config.mean == pytest.approx((0.4905, 0.4942, 0.4908))  # the data set's statistics travel


def test_resume_continues_exactly(tmp_path):
    straight = train(ResNetConfig(depth=8), tiny(2), DATA, out=tmp_path / "a")
    first = train(ResNetConfig(depth=8), tiny(2), DATA, out=tmp_path / "b", callback=lambda e: e["event"] == "epoch")
    assert first.status == "stopped" and len(first.history) == 1
    resumed = train(ResNetConfig(depth=8), tiny(2), DATA, out=tmp_path / "b", resume=True)
    assert resumed.history["epoch"].tolist() == [1, 2]
    a, b = _weights(straight.model), _weights(resumed.model)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k
    assert resumed.history["train_loss"].iloc[1] == pytest.approx(straight.history["train_loss"].iloc[1], rel=1e-4)


def test_an_existing_checkpoint_is_not_overwritten_without_resume(tmp_path):
    train(ResNetConfig(depth=8), tiny(1), DATA, out=tmp_path)
    with pytest.raises(ValueError, match="resume"):
        train(ResNetConfig(depth=8), tiny(1), DATA, out=tmp_path)
    with pytest.raises(ValueError, match="not this run"):
        train(ResNetConfig(depth=8, skip=False), tiny(2), DATA, out=tmp_path, resume=True)


def test_resuming_with_a_changed_recipe_is_recorded_on_the_card(tmp_path):
    train(ResNetConfig(depth=8), tiny(1), DATA, out=tmp_path)
    res = train(ResNetConfig(depth=8), tiny(2, precision="bf16"), DATA, out=tmp_path, resume=True)
    change = {"after_epoch": 1, "changed": {"epochs": [1, 2], "precision": ["fp32", "bf16"]}}
    assert res.card["recipe"]["precision"] == "bf16" and res.card["recipe_changes"] == [change]
    again = train(ResNetConfig(depth=8), tiny(3, precision="bf16"), DATA, out=tmp_path, resume=True)
    assert again.card["recipe_changes"] == [change, {"after_epoch": 2, "changed": {"epochs": [2, 3]}}]
    assert "recipe_changes" not in train(ResNetConfig(depth=8), tiny(1), DATA).card


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = ResNetConfig(depth=8, norm="none")  # no normalization: a huge step blows the forward pass up
    train(cfg, tiny(1, lr=0.01), DATA, out=tmp_path)
    before = (tmp_path / CHECKPOINT).read_bytes()
    good, _ = load_checkpoint(tmp_path / CHECKPOINT)
    res = train(cfg, tiny(3, lr=1e4), DATA, out=tmp_path, resume=True)
    assert res.status == "diverged"
    assert "loss became" in res.message and "epoch 2" in res.message and "last good checkpoint (after epoch 1)" in res.message
    assert (tmp_path / CHECKPOINT).read_bytes() == before
    # the returned model is the last good one, finite, equal to the checkpoint
    for k, v in res.model.state_dict().items():
        assert torch.equal(v.contiguous(), good[f"model.{k}"]), k
    assert len(res.history) == 1


def test_callback_sees_steps_and_can_stop(tmp_path):
    seen = []

    def cb(ev):
        seen.append(ev)
        return ev["event"] == "step" and ev["step"] == 2

    res = train(ResNetConfig(depth=8), tiny(2), DATA, callback=cb)
    assert res.status == "stopped" and len(res.history) == 0
    assert [e["step"] for e in seen] == [1, 2] and seen[0]["steps"] == 4
    assert all(torch.isfinite(torch.tensor(e["loss"])) for e in seen)


def test_schedules_warm_up_and_anneal():
    one, cos = Recipe(schedule="onecycle", lr=0.2), Recipe(schedule="cosine", lr=0.2)
    assert one.lr_at(0, 100) == pytest.approx(0.008) and one.lr_at(15, 100) == pytest.approx(0.2)
    assert cos.lr_at(0, 100) == pytest.approx(0.2) and cos.lr_at(50, 100) == pytest.approx(0.1)
    assert one.lr_at(99, 100) < 1e-3 and cos.lr_at(99, 100) < 1e-3
    with pytest.raises(ValueError, match="schedule"):
        Recipe(schedule="step")


def test_bf16_precision_runs_convolutions_in_bfloat16_and_keeps_float32_weights(tmp_path):
    dtypes = []  # the first convolution's output dtype at every call: training steps, then the test evaluation
    model_init = ResNet.__init__

    def spy(self, *a, **k):
        model_init(self, *a, **k)
        self.conv.register_forward_hook(lambda m, i, o: dtypes.append((m.training, o.dtype)))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ResNet, "__init__", spy)
        res = train(ResNetConfig(depth=8), tiny(1, precision="bf16"), DATA, out=tmp_path)
    assert res.status == "done" and res.card["recipe"]["precision"] == "bf16"
    assert {d for training, d in dtypes if training} == {torch.bfloat16}  # 4 steps of 64 under autocast
    assert {d for training, d in dtypes if not training} == {torch.float32}  # accuracy measured in float32
    assert all(v.dtype in (torch.float32, torch.int64) for v in zoo.load_path(tmp_path / "shapes-resnet8.json").state_dict().values())
    fp32 = train(ResNetConfig(depth=8), tiny(1), DATA)
    assert fp32.card["recipe"]["precision"] == "fp32"
    assert res.history["train_loss"].iloc[0] != fp32.history["train_loss"].iloc[0]  # same seed, other arithmetic
    with pytest.raises(ValueError, match="precision"):
        Recipe(precision="fp16")


def test_cli_single_process(tmp_path, capsys):
    rc = main(["--dataset", "shapes", "--depth", "8", "--no-skip", "--epochs", "1", "--limit", "128", "--batch-size", "64",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0 and "shapes-plain8" in capsys.readouterr().out
    card = zoo.read_card(tmp_path / "shapes-plain8.json")
    assert card["config"]["skip"] is False and card["command"].startswith("python -m models.train --dataset shapes")
    assert main(["--depth", "9", "--out", str(tmp_path / "x"), "--quiet"]) == 1  # a clear error, no traceback


@pytest.mark.slow
def test_torchrun_two_processes_gives_the_same_artefacts(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "models.train", "--dataset", "shapes", "--depth", "8", "--epochs", "2", "--limit", "256",
           "--batch-size", "64", "--out", str(tmp_path), "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    assert sorted(f.name for f in tmp_path.iterdir()) == [CHECKPOINT, HISTORY, "shapes-resnet8.json", "shapes-resnet8.safetensors"]
    card = zoo.read_card(tmp_path / "shapes-resnet8.json")
    assert card["command"].startswith("torchrun --nproc_per_node 2") and "2 process(es)" in card["hardware"]
    assert card["epochs"] == 2 and 0 <= card["test_acc"] <= 1
    model = zoo.load_path(tmp_path / "shapes-resnet8.json")
    assert isinstance(model, ResNet) and model.training is False
    # the test accuracy in the card is the one of the saved weights on the full shapes test split
    x, y = make_shapes("test")
    with torch.no_grad():
        acc = (model(x.float() / 255).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(card["test_acc"], abs=1e-6)


def test_limit_draws_its_images_from_every_class(tmp_path, monkeypatch):
    """--limit N takes N training images at random (seeded), not the first N: folders load in class order."""
    import models.train as T

    labels = torch.arange(10).repeat_interleave(100)  # class-ordered, as an ImageFolder loads
    keep = T.subset(len(labels), 50, seed=1)
    assert len(set(labels[keep].tolist())) == 10 and len(set(keep.tolist())) == 50
    assert torch.equal(keep, T.subset(len(labels), 50, seed=1))

    seen, loss = [], T.F.cross_entropy  # the labels train() actually trains on
    monkeypatch.setattr(T.F, "cross_entropy", lambda logits, y, *a, **k: (seen.extend(y.tolist()), loss(logits, y, *a, **k))[1])
    x = torch.randint(0, 256, (1000, 3, 32, 32), dtype=torch.uint8)
    T.train(ResNetConfig(depth=8), Recipe(1, batch_size=20, limit=40), as_data("shapes", (x, labels), (x[:20], labels[:20])),
            out=tmp_path / "run", progress=False)
    assert len(seen) == 40 + 20 and len(set(seen[:40])) > 5, seen  # 40 trained on (the first 40 are all class 0), 20 tested


def test_the_initial_weights_come_from_the_recipes_seed_alone(tmp_path):
    """train() builds its model with the model's own generator (ResNet(config, seed=recipe.seed)): whatever torch's
    process-wide generator holds (another Streamlit session may be drawing from it), the same seed trains the same
    network, and different seeds different ones."""
    import models.train as T

    cfg = ResNetConfig(depth=8)
    torch.manual_seed(123)
    a = _weights(T._setup(cfg, tiny(1, seed=3), DATA, None).model)
    torch.manual_seed(7)
    torch.rand(1000)
    b = _weights(T._setup(cfg, tiny(1, seed=3), DATA, None).model)
    want = ResNet(T._setup(cfg, tiny(1, seed=3), DATA, None).config, seed=3).state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]) and torch.equal(a[k], want[k]), k
    other = _weights(T._setup(cfg, tiny(1, seed=4), DATA, None).model)
    assert not torch.equal(a["conv.weight"], other["conv.weight"])
    torch.manual_seed(1)
    first = train(cfg, tiny(1), DATA)
    torch.manual_seed(2)
    second = train(cfg, tiny(1), DATA)
    for k, v in _weights(first.model).items():
        assert torch.equal(v, second.model.state_dict()[k]), k


def test_load_data_holds_what_train_needs(tmp_path):
    from models.data import SHAPES_CLASSES, SHAPES_MEAN, dataset_info

    d = load_data("shapes", test_limit=100)
    assert isinstance(d, Data) and d.name == "shapes" and d.path is None
    assert d.classes == SHAPES_CLASSES and d.mean == SHAPES_MEAN and len(d.train[0]) == 10_000
    assert d.train[0].dtype == torch.uint8 and d.test[1].dtype == torch.int64 and len(d.test[0]) == 100
    full = make_shapes("test")[1]
    assert torch.equal(d.test[1], full[subset(2000, 100, 0)])  # a seeded random subset, not the first 100
    # a folder: its name, its resolved path, its class names and the statistics models.data computes for it
    from PIL import Image

    for c, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        for split in ("train", "test"):
            (tmp_path / "pics" / split / c).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), colour).save(tmp_path / "pics" / split / c / f"{i}.png")
    f = load_data(str(tmp_path / "pics"))
    info = dataset_info(str(tmp_path / "pics"))
    assert (f.name, f.path, f.classes) == ("pics", str((tmp_path / "pics").resolve()), ("blue", "red"))
    assert f.mean == info.mean and f.std == info.std and len(f.test[0]) == 6


def test_no_function_of_the_training_loop_is_over_80_lines():
    import ast

    tree = ast.parse((ROOT / "models" / "train.py").read_text())
    long = {f.name: f.end_lineno - f.lineno + 1 for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
            and f.end_lineno - f.lineno + 1 > 80}
    assert not long, long
    args = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "train").args
    assert [a.arg for a in args.args] == ["config", "recipe", "data"]  # the rest keyword-only
