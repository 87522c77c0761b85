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
from models.data import make_shapes
from models.resnet import ResNet, ResNetConfig
from models.train import CHECKPOINT, HISTORY, HISTORY_COLUMNS, Recipe, load_checkpoint, main, train

ROOT = Path(__file__).resolve().parents[1]
DATA = (make_shapes("train", n=256), make_shapes("test", n=64))
TINY = dict(batch_size=64, data=DATA)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_run_writes_history_checkpoint_and_a_loadable_zoo_entry(tmp_path):
    res = train(ResNetConfig(depth=8), "shapes", 2, out=tmp_path, **TINY)
    assert res.status == "done" and res.model.training is False
    hist = pd.read_csv(tmp_path / HISTORY)
    assert list(hist.columns) == HISTORY_COLUMNS and hist["epoch"].tolist() == [1, 2]
    assert hist["seconds"].is_monotonic_increasing
    # the history's test accuracy is what evaluating the returned model gives (PyTorch as the oracle)
    x, y = DATA[1]
    with torch.no_grad():
        out = res.model(x.float() / 255)
    assert hist["test_acc"].iloc[-1] == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert hist["test_loss"].iloc[-1] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-4)
    loaded = zoo.load_path(tmp_path / "shapes-resnet8.json")
    with torch.no_grad():
        assert torch.allclose(loaded(x.float() / 255), out, atol=1e-5)
    assert loaded.config.mean == pytest.approx((0.4905, 0.4942, 0.4908))  # the data set's statistics travel


def test_resume_continues_exactly(tmp_path):
    straight = train(ResNetConfig(depth=8), "shapes", 2, out=tmp_path / "a", **TINY)
    first = train(ResNetConfig(depth=8), "shapes", 2, out=tmp_path / "b", **TINY, callback=lambda e: e["event"] == "epoch")
    assert first.status == "stopped" and len(first.history) == 1
    resumed = train(ResNetConfig(depth=8), "shapes", 2, out=tmp_path / "b", resume=True, **TINY)
    assert resumed.history["epoch"].tolist() == [1, 2]
    a, b = _weights(straight.model), _weights(resumed.model)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k
    assert resumed.history["train_loss"].iloc[1] == pytest.approx(straight.history["train_loss"].iloc[1], rel=1e-4)


def test_an_existing_checkpoint_is_not_overwritten_without_resume(tmp_path):
    train(ResNetConfig(depth=8), "shapes", 1, out=tmp_path, **TINY)
    with pytest.raises(ValueError, match="resume"):
        train(ResNetConfig(depth=8), "shapes", 1, out=tmp_path, **TINY)
    with pytest.raises(ValueError, match="not this run"):
        train(ResNetConfig(depth=8, skip=False), "shapes", 2, out=tmp_path, resume=True, **TINY)

def test_resuming_with_a_changed_recipe_is_recorded_on_the_card(tmp_path):
    train(ResNetConfig(depth=8), "shapes", 1, out=tmp_path, **TINY)
    res = train(ResNetConfig(depth=8), "shapes", 2, out=tmp_path, resume=True, precision="bf16", **TINY)
    change = {"after_epoch": 1, "changed": {"epochs": [1, 2], "precision": ["fp32", "bf16"]}}
    assert res.card["recipe"]["precision"] == "bf16" and res.card["recipe_changes"] == [change]
    again = train(ResNetConfig(depth=8), "shapes", 3, out=tmp_path, resume=True, precision="bf16", **TINY)
    assert again.card["recipe_changes"] == [change, {"after_epoch": 2, "changed": {"epochs": [2, 3]}}]
    assert "recipe_changes" not in train(ResNetConfig(depth=8), "shapes", 1, **TINY).card


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = ResNetConfig(depth=8, norm="none")  # no normalization: a huge step blows the forward pass up
    train(cfg, "shapes", 1, out=tmp_path, lr=0.01, **TINY)
    before = (tmp_path / CHECKPOINT).read_bytes()
    good, _ = load_checkpoint(tmp_path / CHECKPOINT)
    res = train(cfg, "shapes", 3, out=tmp_path, lr=1e4, resume=True, **TINY)
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

    res = train(ResNetConfig(depth=8), "shapes", 2, callback=cb, **TINY)
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
        res = train(ResNetConfig(depth=8), "shapes", 1, out=tmp_path, precision="bf16", **TINY)
    assert res.status == "done" and res.card["recipe"]["precision"] == "bf16"
    assert {d for training, d in dtypes if training} == {torch.bfloat16}  # 4 steps of 64 under autocast
    assert {d for training, d in dtypes if not training} == {torch.float32}  # accuracy measured in float32
    assert all(v.dtype in (torch.float32, torch.int64) for v in zoo.load_path(tmp_path / "shapes-resnet8.json").state_dict().values())
    fp32 = train(ResNetConfig(depth=8), "shapes", 1, **TINY)
    assert fp32.card["recipe"]["precision"] == "fp32"
    assert res.history["train_loss"].iloc[0] != fp32.history["train_loss"].iloc[0]  # same seed, other arithmetic
    with pytest.raises(ValueError, match="precision"):
        Recipe(precision="fp16")


def test_cli_single_process(tmp_path, capsys):
    rc = main(["--dataset", "shapes", "--depth", "8", "--no-skip", "--epochs", "1", "--limit", "128", "--batch-size", "64",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0 and "shapes-plain8" in capsys.readouterr().out
    card = zoo._read_card(tmp_path / "shapes-plain8.json")
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
    card = zoo._read_card(tmp_path / "shapes-resnet8.json")
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
    T.train(ResNetConfig(depth=8), "shapes", 1, batch_size=20, data=((x, labels), (x[:20], labels[:20])), limit=40,
            out=tmp_path / "run", progress=False)
    assert len(seen) == 40 + 20 and len(set(seen[:40])) > 5, seen  # 40 trained on (the first 40 are all class 0), 20 tested
