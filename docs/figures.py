"""Every figure the README and docs/ quote, computed from the code, so that no quoted number can go stale.

A document quotes a figure as `<!--#key-->value` (the comment is invisible on the rendered page); `FIGURES` says how
each key is computed and printed. tests/test_docs_numbers.py checks that every quote equals the value printed here.

    python docs/figures.py            # key = value, one a line (the quick figures; --slow adds the heavy ones)
    python docs/figures.py --write    # rewrite every quote in README.md and docs/*.md with today's values
"""

import argparse
import functools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import registry, zoo  # noqa: E402
from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes  # noqa: E402
from models.resnet import ResNet, ResNetConfig  # noqa: E402
from viz.measures import lesson  # noqa: E402
from viz.measures.gradient_flow import first_last_gradients  # noqa: E402
from viz.probe import probe  # noqa: E402

QUOTE = re.compile(r"<!--#(\w+)-->(-?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?)")  # a sentence's full stop is not the number's
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PUBLISHED = [f"cifar10-resnet{d}-published" for d in (20, 32, 44, 56)]
OURS = ["cifar10-resnet20", "cifar10-plain20", "cifar10-resnet56", "cifar10-plain56"]


@functools.cache
def first_to_last(depth=56, skip=True, norm="batch", activation="relu", init="kaiming", seed=0, batch=32) -> float:
    """The first conv's weight-gradient norm over the last conv's, as `python -m viz.probe` prints it (BatchNorm in
    train mode, a batch of shapes drawn with the seed, the weights the Gradient-flow page shows for the seed)."""
    return _probe(depth, skip, norm, activation, init, seed, batch)[0]


@functools.cache
def _probe(depth, skip, norm, activation, init, seed, batch):
    cfg = ResNetConfig(depth=depth, skip=skip, norm=norm, activation=activation, init=init, mean=SHAPES_MEAN,
                       std=SHAPES_STD)
    x, y = make_shapes("test", n=batch, seed=seed)
    t = probe(ResNet(cfg, seed=seed), x.float() / 255, y, bn_mode="train")
    first, last = first_last_gradients(t.layers)
    return first / last, t.loss


def _pct(v):
    return 100 * v


def _published(field):
    return lambda name: _pct(registry.model(name).card()[field]) if field != "reported" else _pct(
        1 - registry.model(name).card()["reported_error"])


def _quick() -> dict:
    """key -> (compute, format)."""
    fig = {
        "plain56_bn_ratio": (lambda: first_to_last(skip=False), "{:.0f}"),
        "res56_bn_ratio": (lambda: first_to_last(), "{:.1f}"),
        "plain20_sigmoid_ratio": (lambda: first_to_last(depth=20, skip=False, norm="none", activation="sigmoid"),
                                  "{:.0e}"),
        "plain56_sigmoid_ratio": (lambda: first_to_last(skip=False, norm="none", activation="sigmoid"), "{:g}"),
        "res56_sigmoid_ratio": (lambda: first_to_last(norm="none", activation="sigmoid"), "{:.0e}"),
        "plain56_tanh_ratio": (lambda: first_to_last(skip=False, norm="none", activation="tanh"), "{:.1f}"),
        "plain56_tanh_xavier_ratio": (lambda: first_to_last(skip=False, norm="none", activation="tanh",
                                                            init="xavier"), "{:.2f}"),
        "res56_none_loss": (lambda: _probe(56, True, "none", "relu", "kaiming", 0, 32)[1], "{:.0e}"),
        "lesson_first_plain": (lambda: lesson.gradient_at_init(56).numbers["first_plain"], "{:.0f}"),
        "lesson_first_res": (lambda: lesson.gradient_at_init(56).numbers["first_res"], "{:.3g}"),
        "models": (lambda: len([r for r in registry.models() if r.where == "shipped"]), "{:d}"),
        "zoo_mb": (lambda: sum(r.path.stat().st_size for r in registry.models() if r.where == "shipped") / 2**20,
                   "{:.1f}"),
        "sample_images": (lambda: len(lesson.load_dataset(registry.SAMPLE, "test")[1]), "{:d}"),
    }
    for key, v in lesson.degradation("cifar10").numbers.items():  # training error averaged over the epochs, %
        fig[f"deg_{key}"] = (lambda v=v: v, "{:.1f}")
    for name, err in _final_training_error().items():  # at the last epoch, %: the Train page's replay ends there
        short = name.split("-")[1]
        fig[f"final_{short}"] = (lambda e=err: e, "{:.1f}")
        fig[f"final_{short}_int"] = (lambda e=err: e, "{:.0f}")
    for name in PUBLISHED:
        depth = registry.model(name).depth
        fig[f"pub{depth}_sample"] = (lambda n=name: _published("sample_acc")(n), "{:.1f}")
        fig[f"pub{depth}_reported"] = (lambda n=name: _published("reported")(n), "{:.2f}")
        fig[f"pub{depth}_jpeg"] = (lambda n=name: _published("test_acc")(n), "{:.1f}")
    for name in OURS:
        short = name.split("-")[1]
        fig[f"{short}_jpeg"] = (lambda n=name: _pct(registry.model(n).test_acc), "{:.2f}")
        fig[f"{short}_sample"] = (lambda n=name: _pct(registry.model(n).sample_acc), "{:.2f}")
    return fig


def _final_training_error() -> dict:
    """name -> training error (%) at the last epoch of the shipped CIFAR-10 twins (models.zoo.histories)."""
    h = zoo.histories(registry.CIFAR10, (20, 56))
    last = h.sort_values("epoch").groupby("name").tail(1)
    return {r.name: float(r.train_error) for r in last.itertuples()}


def _slow() -> dict:
    """The figures that take minutes: the lesson's trained-network steps on the shipped test images."""
    fig = {}
    for k, v in (("20", "ResNet-20"), ("32", "ResNet-32"), ("44", "ResNet-44"), ("56", "ResNet-56")):
        fig[f"residual_ratio{k}"] = (lambda v=v: _residuals()[v], "{:.2f}")
    fig["lesion_res56"] = (lambda: _lesions()["ResNet-56"], "{:.1f}")
    fig["lesion_plain56"] = (lambda: _lesions()["plain-56"], "{:.1f}")
    return fig


@functools.cache
def _residuals():
    return lesson.residual_size(932).numbers


@functools.cache
def _lesions():
    return lesson.delete_block(200).numbers


@functools.cache
def figures(slow: bool = False) -> dict:
    """key -> (compute, format) of every figure (slow: the heavy ones too)."""
    return {**_quick(), **(_slow() if slow else {})}


def value(key: str) -> str:
    """A figure as the docs print it."""
    compute, form = {**figures(), **_slow()}[key]
    return form.format(compute())


def quotes(text: str) -> list[tuple[str, str]]:
    """(key, quoted value) of every quote in a document's text."""
    return QUOTE.findall(text)


def write(slow: bool) -> int:
    known = figures(slow)
    changed = 0
    for doc in DOCS:
        text = doc.read_text()
        new = QUOTE.sub(lambda m: f"<!--#{m[1]}-->{value(m[1])}" if m[1] in known else m[0], text)
        if new != text:
            doc.write_text(new)
            changed += 1
    return changed


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python docs/figures.py", description=__doc__.splitlines()[0])
    ap.add_argument("--slow", action="store_true", help="also the figures that take minutes")
    ap.add_argument("--write", action="store_true", help="rewrite the quotes in README.md and docs/*.md")
    a = ap.parse_args(argv)
    if a.write:
        print(f"{write(a.slow)} document(s) rewritten")
        return 0
    for key in figures(a.slow):
        print(f"{key} = {value(key)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
