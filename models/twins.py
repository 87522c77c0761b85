"""A residual network and its plain twin trained side by side: the same data, seed (so the same initial weights and
batch order) and recipe, in alternating steps, so both training curves grow together (the Train page's "Train both";
bench/degradation.py). The two runs take turns: one computes while the other waits, so they never compete for the
CPU's cores, and each gets the same share of the wall clock.

DEMO is the degradation setting for a class, chosen for a 2-core CPU: ResNet-32 and plain-32 at width 8 on 2,000
shapes images, batches of 32, no augmentation, learning rate 0.02 from the first step (cosine), three passes (186
steps each). The plain twin barely leaves chance while the ResNet learns: after 186 steps, plain 86/88/85% against
ResNet 73/72/74% training error for seeds 0/1/2, a visible gap opening at steps 73/82/109 (25-37 s after the click on
2 cores, the whole run about a minute; bench/degradation.py measures the seconds). Tried and dropped (three seeds
each, 2026-12-07): depth 20 at lr 0.1 (the earlier setting: seeds 1 and 2 open no gap, the ResNet too stays near
chance), depth 20 at lr 0.05 (gaps at steps 71, 181, 171: two only in the last epoch), depth 32 at lr 0.05 (one
seed of three), depth 20 at width 16 and lr 0.1, two passes (both at chance); the earlier ResNet-56 at width 16 on
10,000 images needed several minutes."""

import threading
from dataclasses import dataclass, replace

from models.resnet import ResNetConfig
from models.train import Recipe, TrainResult, train


@dataclass(frozen=True)
class Demo:
    """The class demo's settings: the networks, the recipe and how many training images."""

    dataset: str = "shapes"
    images: int = 2_000
    config: ResNetConfig = ResNetConfig(depth=32, width=8)
    recipe: Recipe = Recipe(epochs=3, batch_size=32, lr=0.02, schedule="cosine", augment=False, seed=0)


DEMO = Demo()


class _Baton:
    """Whose turn it is (True: the residual run, False: the plain one); a finished run never holds it."""

    def __init__(self):
        self.turn, self.done, self.cv = True, {True: False, False: False}, threading.Condition()

    def wait(self, me: bool):
        with self.cv:
            self.cv.wait_for(lambda: self.turn == me or self.done[not me])

    def pass_on(self, me: bool):
        with self.cv:
            self.turn = not me
            self.cv.notify_all()
        self.wait(me)

    def finish(self, me: bool):
        with self.cv:
            self.done[me], self.turn = True, not me
            self.cv.notify_all()


def train_twins(config: ResNetConfig, recipe: Recipe, data, on_step=None, poll=None, every: float = 0.5,
                **train_args) -> dict[bool, TrainResult]:
    """Train `config` with skips and without, in alternating steps.

    Args:
        config: the architecture (its `skip` is set to True, then False).
        recipe, data: as for models.train.train (the same for both).
        on_step: called as on_step(skip, event) from the training threads after every step and epoch event (the
            events of models.train.train's callback); return True to stop both runs. Must not touch a UI.
        poll: called from the calling thread about every `every` seconds while the twins train (a page's redraw).
        train_args: passed to models.train.train for both (e.g. zoo_dir, command); `name` gets a suffix per twin.
    Returns:
        {True: the residual run's TrainResult, False: the plain twin's}.
    Raises:
        whatever train() raised in either run (e.g. ValueError for a data set smaller than one batch).
    """
    baton, results, errors, stop = _Baton(), {}, {}, threading.Event()

    def run(skip: bool):
        def callback(ev):
            if on_step and on_step(skip, ev):
                stop.set()
            if ev["event"] == "step" and not stop.is_set():
                baton.pass_on(skip)
            return stop.is_set()

        try:
            baton.wait(skip)
            args = dict(train_args)
            if args.get("name"):
                args["name"] = f"{args['name']}-{'resnet' if skip else 'plain'}"
            results[skip] = train(replace(config, skip=skip), recipe, data, callback=callback, **args)
        except Exception as e:  # noqa: BLE001 (re-raised in the calling thread)
            errors[skip] = e
            stop.set()
        finally:
            baton.finish(skip)

    threads = [threading.Thread(target=run, args=(skip,), name=f"twin-{skip}", daemon=True) for skip in (True, False)]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            threads[0].join(every) if threads[0].is_alive() else threads[1].join(every)
            if poll:
                poll()
    finally:  # the caller was interrupted (a page's rerun, Ctrl-C): both runs stop after their current step
        if any(t.is_alive() for t in threads):
            stop.set()
            for t in threads:
                t.join()
    if errors:
        raise next(iter(errors.values()))
    return results
