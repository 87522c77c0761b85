"""The twins (models.twins): a ResNet and its plain twin trained in alternating steps from the same weights, data and
recipe; the class demo's ordering (plain behind) on a short run with fixed seeds."""

from dataclasses import replace

import pandas as pd
import pytest
import torch

from models.data import load_dataset, make_shapes, subset
from models.resnet import ResNetConfig
from models.train import Recipe, as_data, train
from models.twins import DEMO, train_twins
from viz.measures import degradation as dm

TINY = ResNetConfig(depth=8, width=4)


def tiny_data(n=64):
    x, y = make_shapes("train", n=n)
    return as_data("shapes", (x, y), make_shapes("test", n=32))


def test_the_twins_take_turns_and_each_trains_as_it_would_alone():
    order, data, recipe = [], tiny_data(), Recipe(epochs=2, batch_size=16, augment=False, seed=3)
    res = train_twins(TINY, recipe, data, on_step=lambda skip, ev: order.append((skip, ev["event"])))
    steps = [s for s, e in order if e == "step"]
    assert steps == [True, False] * 8  # 4 steps per epoch, 2 epochs, alternating from the ResNet
    for skip in (True, False):
        alone = train(replace(TINY, skip=skip), recipe, data)
        for (k, a), b in zip(res[skip].model.state_dict().items(), alone.model.state_dict().values(), strict=True):
            assert torch.equal(a, b), k  # same seed, same data, same recipe: the same weights as a run on its own
        assert res[skip].model.config.skip is skip


def test_a_stop_ends_both_and_an_error_is_raised_in_the_caller():
    seen = []

    def stop_at_three(skip, ev):
        seen.append(skip)
        return len(seen) >= 3

    res = train_twins(TINY, Recipe(epochs=3, batch_size=16, augment=False), tiny_data(), on_step=stop_at_three)
    assert {r.status for r in res.values()} == {"stopped"} and len(seen) <= 4
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_twins(TINY, Recipe(epochs=1, batch_size=128), tiny_data(64))


def test_the_gap_is_found_where_it_holds_to_the_end():
    log = dm.TwinLog()
    for step in range(1, 41):
        for skip, err in ((True, 90 - step), (False, 90 - (step if step < 20 else 15))):
            log.record(skip, {"event": "step", "epoch": 1, "step": step, "steps": 40, "loss": 1.0, "acc": 1 - err / 100})
    curves = dm.error_curves(log.table(), window=1)
    assert curves.gap.tolist()[:19] == [0] * 19
    gap = dm.first_visible_gap(curves, points=5, window=1)
    assert gap["step"] == 20 and gap["gap"] == pytest.approx(5)  # plain at 75 from step 20, the ResNet at 70 and below
    assert dm.first_visible_gap(curves[curves.step < 20], points=5, window=1) is None


def demo_twins(seed: int, steps: int | None = None) -> pd.DataFrame:
    """The class demo's twins as the page trains them (DEMO's images, drawn with the seed), for `steps` steps each
    (None: the whole run): their error curves (viz.measures.degradation.error_curves)."""
    x, y = load_dataset(DEMO.dataset, "train")
    keep = subset(len(x), DEMO.images, seed)
    data = as_data(DEMO.dataset, (x[keep], y[keep]), (x[keep][:64], y[keep][:64]))
    log = dm.TwinLog()

    def record(skip, ev):  # the plain twin steps second: stop once it has made `steps` steps
        log.record(skip, ev)
        return bool(steps) and not skip and ev["event"] == "step" and (ev["epoch"] - 1) * ev["steps"] + ev["step"] >= steps

    train_twins(DEMO.config, replace(DEMO.recipe, seed=seed), data, on_step=record)
    return dm.error_curves(log.table())


@pytest.mark.slow  # a whole class demo per seed: about a minute each on 2 cores
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_class_demo_leaves_the_plain_twin_behind(seed):
    """He et al.'s degradation, as the page's button trains it: a visible gap opens and holds to the end of the run
    (bench/degradation.py: at steps 73, 82 and 109 for seeds 0, 1 and 2; 186 steps each)."""
    curves = demo_twins(seed)
    assert curves.step.max() == DEMO.recipe.epochs * (DEMO.images // DEMO.recipe.batch_size)  # whole batches
    gap = dm.first_visible_gap(curves)
    assert gap is not None and gap["step"] <= 150, curves.tail(3)  # open in time for the class to see it
    last = curves.iloc[-1]
    assert last.plain - last.residual >= dm.GAP_POINTS and last.residual < 80, last  # the ResNet learned; plain did not
