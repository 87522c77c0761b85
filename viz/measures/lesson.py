"""The lesson: predict-then-reveal steps, each a question answered by a live computation. Step 0 is the
one-dimensional picture (a chain of scalar layers); the later steps use real networks. The steps are numbered from 0 so
that the links made before step 0 existed (?step=1 ... ?step=8) still open the same steps.

A step's `reveal(setting)` computes its numbers (no cached or stored number), names the answer the numbers give and
writes the takeaway sentence from them, so changing the setting changes the text. No plotting here (see
viz/charts/lesson.py); no streamlit (see pages/lesson.py).
"""

import math
from dataclasses import dataclass, field

import pandas as pd

from models import zoo
from models.blocks import DESIGNS
from models.data import SAMPLE, SHAPES_MEAN, SHAPES_STD, load_dataset, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures import chain, designs, landscape, normfree, refinement, residuals
from viz.measures import transformer as tf
from viz.measures.gradient_flow import first_last_gradients
from viz.measures.probe import probe
from viz.measures.train import mean_training_error
from viz.words import fmt, model_name

PUBLISHED = [f"cifar10-resnet{d}-published" for d in (20, 32, 44, 56)]


@dataclass
class Reveal:
    """What a step shows once revealed: the answer the numbers give (one of the step's choices), the takeaway
    sentence with those numbers, the numbers themselves, and the tables a chart is drawn from."""

    answer: str
    takeaway: str
    numbers: dict
    tables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    question: str
    choices: tuple
    setting: str  # what the step's one control sets, in words
    options: tuple  # its values (the first is the default)
    page: str | None  # the full page, opened with `query(setting)` (None: the step is its own page)
    why: str  # one line under the reveal: why it comes out this way


def _shapes(n=16, seed=0):
    x, y = make_shapes("test", n=n, seed=seed)
    return x.float() / 255, y


def _sample(n):
    x, y = load_dataset(SAMPLE, "test")
    return x[:n], y[:n]


CHAIN_ANSWERS = ("the plain chain (f' each)", "the residual chain (1 + f' each)", "both", "neither")


def chain_step(spread: float, layers: int = 50) -> Reveal:
    """A chain of scalar layers with slopes f' of the given spread, plain and residual: autograd's dx_L/dx_0."""
    table = chain.chain_table(layers, spread)
    n = chain.numbers(table)
    near = {k: chain.fate(n[k]) == "stays near 1" for k in ("plain", "residual")}
    answer = CHAIN_ANSWERS[2 if all(near.values()) else 0 if near["plain"] else 1 if near["residual"] else 3]
    return Reveal(answer, chain.finding(table), n, {"chain": table})


def identity(depth: int) -> Reveal:
    """A ResNet whose every branch starts at F(x) = 0 (init="zero_residual"), probed on 16 shapes images."""
    cfg = ResNetConfig(depth=depth, init="zero_residual", mean=SHAPES_MEAN, std=SHAPES_STD)
    t = probe(ResNet(cfg, seed=0), *_shapes(), bn_mode="eval")
    b = t.blocks
    same = b[b.stage == b.stage.shift()]  # blocks that keep the shape (the first of stages 2 and 3 subsamples)
    change = float((same.out_norm / same.x_norm - 1).abs().max())
    largest = float(b.fx_norm.max())
    answer = "y = x: the block passes its input on" if largest == 0 and change < 1e-6 else "something else"
    moved = "not at all" if change == 0 else f"by at most {fmt(change)} relative"
    return Reveal(answer, f"In ResNet-{depth} with every F(x) = 0, the largest ||F(x)|| is {fmt(largest)} and no block "
                          f"that keeps its shape changes ||x|| ({moved}): y = F(x) + x = x, so a deep ResNet can always do at "
                          "least as well as a shallower one by leaving blocks at zero.",
                  dict(largest_fx=largest, largest_change=change), {"blocks": b})


def gradient_at_init(depth: int) -> Reveal:
    """A fresh ResNet and its plain twin (same weights), one pass on 16 shapes images: the first conv's gradient."""
    cfg = ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD)
    model, (x, y) = ResNet(cfg, seed=0), _shapes()
    n = len(model.blocks)
    tr = {s: probe(model, x, y, skip=[s] * n) for s in (True, False)}
    first = {s: first_last_gradients(t.layers) for s, t in tr.items()}
    res, plain = first[True][0], first[False][0]
    answer = f"plain-{depth}" if plain > res else f"ResNet-{depth}"
    r = {s: f[0] / f[1] for s, f in first.items()}
    return Reveal(answer, f"The first layer of plain-{depth} gets a gradient of {fmt(plain)}, that of ResNet-{depth} "
                          f"{fmt(res)}: in the plain net the gradient grows {fmt(r[False])}x from the last layer to the "
                          f"first (in the ResNet {fmt(r[True])}x). With BatchNorm, a deep plain net's gradient explodes "
                          "toward the input at init; it does not vanish.",
                  dict(first_plain=plain, first_res=res, ratio_plain=r[False], ratio_res=r[True]),
                  {"traces": [tr[True], tr[False]]})


def degradation(dataset: str) -> Reveal:
    """Our shipped plain-20 and plain-56 (one recipe): their training error at the last epoch."""
    h = zoo.histories(dataset, (20, 56))
    mean = mean_training_error(h)  # the Train page's degradation headline: the same statistic
    err = {d: float(mean[f"{dataset}-plain{d}"]) for d in (20, 56)}
    res = {d: float(mean[f"{dataset}-resnet{d}"]) for d in (20, 56) if f"{dataset}-resnet{d}" in mean.index}
    answer = "plain-20" if err[20] < err[56] else "plain-56"
    tail = (f"; with skips the order flips: ResNet-56 {res[56]:.1f}%, ResNet-20 {res[20]:.1f}%" if len(res) == 2 and
            res[56] < res[20] else "")
    return Reveal(answer, f"Over {int(h.epoch.max())} epochs of the same recipe, plain-56's training error averages "
                          f"{err[56]:.1f}% and plain-20's {err[20]:.1f}% (the mean over the epochs, as on the Train "
                          f"page): the deeper plain net trains worse, although it could copy plain-20 and set its extra "
                          f"layers to the identity{tail}.",
                  dict(plain20=err[20], plain56=err[56], **{f"resnet{d}": v for d, v in res.items()}), {"history": h})


def residual_size(images: int) -> Reveal:
    """The published ResNet-20/32/44/56: mean ||F(x)||/||x|| over the first `images` exact CIFAR-10 test images."""
    x, y = _sample(images)
    means = {}
    for name in PUBLISHED:
        m = zoo.load(name)
        means[m.config.name] = residuals.residual_table(residuals.response_sums(m, x)[0])
    avg = {k: float(d.residual_ratio.mean()) for k, d in means.items()}
    vals = list(avg.values())
    falls = all(b < a for a, b in zip(vals, vals[1:], strict=False))
    answer = "smaller in deeper nets" if falls else "larger in deeper nets" if vals[-1] > vals[0] else "about the same"
    return Reveal(answer, "Mean ||F(x)||/||x|| on " + f"{len(x)} exact test images: " +
                  ", ".join(f"{k} {fmt(v)}" for k, v in avg.items()) +
                  (". The deeper the ResNet, the smaller the change each block makes: the blocks learn nudges "
                   "close to the identity, as He et al. found (Fig. 7)." if falls else
                   ". Here the residuals do not shrink steadily with depth."), avg, {"residuals": means})


def delete_block(images: int) -> Reveal:
    """Our CIFAR-10 ResNet-56 and plain-56 (same recipe): each block deleted in turn, on exact test images."""
    x, y = _sample(images)
    tables, rise = {}, {}
    for name in ("cifar10-resnet56", "cifar10-plain56"):
        m = zoo.load(name)
        t = residuals.lesion_table(residuals.setting_sums(m, x, y, residuals.single_lesions(len(m.blocks))), m)
        tables[m.config.name] = t
        rise[m.config.name] = float(100 * (t.error.median() - t.base_error.iloc[0]))
    answer = "plain-56" if rise["plain-56"] > rise["ResNet-56"] else "ResNet-56"
    return Reveal(answer, f"Deleting one block raises the test error by a median {rise['ResNet-56']:.1f} points in "
                          f"ResNet-56 and {rise['plain-56']:.1f} points in plain-56 ({len(x)} exact test images): a "
                          "ResNet behaves like many shorter paths, and losing one barely matters (Veit et al. 2016).",
                  rise, {"lesions": tables})


def landscape_step(images: int) -> Reveal:
    """Our CIFAR-10 ResNet-56 and plain-56: the loss along one filter-normalized direction (11 points, span 1, seed 0)
    and the Hessian's |lambda_min/lambda_max| on it: the Landscape page's own measurements at the step's link."""
    x, y, split, _ = landscape.loss_images("cifar10", images)
    curves, skips, curv = {}, {}, {}
    for name in ("cifar10-resnet56", "cifar10-plain56"):
        m = zoo.load(name)
        curves[m.config.name] = landscape.slice_1d(m, x, y, steps=11, span=1.0, seed=0)
        curv[m.config.name] = landscape.curvature(m, x, y, False, 1.0, 0)
        skips[m.config.name] = m.config.skip
    c = landscape.smoothness(curves, skips, curv)
    numbers = {f"{k} {q}": float(v) for q in ("ratio", "minima") for k, v in c[q].items()}
    return Reveal(c["winner"] or "neither", f"On {len(x)} {split} images: " + landscape.smoother(curves, skips, curv),
                  numbers, {"curves": curves, "skips": skips, "curvature": curv, "split": split})


def design_step(depth: int) -> Reveal:
    """Every design at init: which keeps the gradient at the first block closest to the last block's?"""
    traces, table = designs.design_traces(depth=depth, batch=8)
    spread = {r.design: abs(math.log(r.ratio_first_to_last)) if r.ratio_first_to_last > 0 else float("inf")
              for r in table.itertuples()}
    best = min(spread, key=spread.get)
    plain = table.set_index("design").ratio_first_to_last.get("plain (no skip)", float("nan"))
    return Reveal(best, f"At depth {depth}, {best} keeps the gradient at the first block closest to the last block's "
                        f"({fmt(float(table.set_index('design').ratio_first_to_last[best]))}x); the plain net: "
                        f"{fmt(float(plain))}x. Every design that keeps an identity path keeps the gradient flowing.",
                  dict(zip(table.design, table.ratio_first_to_last, strict=True)), {"traces": traces, "table": table})


def refinement_step(images: int) -> Reveal:
    """The published ResNet-56: cos(F_i(h_i), -dL/dh_i) per block on exact CIFAR-10 test images."""
    name = "cifar10-resnet56-published"
    t = refinement.refinement(zoo.load(name), *_sample(images))
    s = refinement.summary(t)
    share = s["positive"] / s["measured"]
    answer = ("down the loss in most blocks" if share > 0.6 else "up the loss in most blocks" if share < 0.4
              else "neither: about half of the blocks each way")
    return Reveal(answer, f"In the published ResNet-56, on {images} exact test images, {s['positive']} of "
                          f"{s['measured']} blocks have a residual F(h) with a positive cosine with -dL/dh (the "
                          f"direction that lowers the loss); reading out after each block, the loss goes from "
                          f"{fmt(s['stem_loss'])} to {fmt(s['final_loss'])}. Jastrzebski et al. (2018): most blocks "
                          "refine their input like a gradient step.",
                  dict(positive=s["positive"], measured=s["measured"], stem_loss=s["stem_loss"],
                       final_loss=s["final_loss"]), {"tables": {name: t}, "summaries": {name: s}})


def normfree_step(depth: int) -> Reveal:
    """Three nets without batch norm at init, one pass on 32 shapes images: ||dL/dh|| at the first and last block."""
    schemes = ("plain, no BN", "residual, no BN", "ReZero")
    layers, blocks = normfree.at_init((depth,), schemes)
    s = normfree.summary(layers, blocks)
    spread = {r.scheme: abs(math.log(r.block_grad_ratio)) if r.block_grad_ratio > 0 else math.inf
              for r in s.itertuples()}
    answer = min(spread, key=spread.get)
    ratios = dict(zip(s.scheme, s.block_grad_ratio, strict=True))
    return Reveal(answer, f"At depth {depth} without batch norm, the gradient at the first block is "
                          + ", ".join(f"{fmt(v)}x the last block's in {k}" for k, v in ratios.items())
                          + ". ReZero starts every branch at zero, so each block passes the gradient on unchanged, "
                            "except the two that change the shape: their zero-padding shortcut passes back only the "
                            "gradient of the channels it carried.",
                  ratios, {"blocks": blocks, "summary": s})
def transformer_step(depth: int) -> Reveal:
    """Fresh Post-LN and Pre-LN character transformers, one pass on 16 windows of the corpus: the last layer's
    gradient norm in each, and each one's last/first layer ratio (Xiong et al. 2020)."""
    grads, _, ratios = tf.init_gradients([depth])
    r = ratios.set_index("variant")
    post, pre = float(r["last"]["Post-LN"]), float(r["last"]["Pre-LN"])
    answer = "about the same in both" if max(post, pre) < 1.1 * min(post, pre) else "Post-LN" if post > pre else "Pre-LN"
    rp, rq = float(r.ratio["Post-LN"]), float(r.ratio["Pre-LN"])
    return Reveal(answer, f"With {depth} layers, Post-LN's last layer gets a gradient of {fmt(post)}, Pre-LN's "
                          f"{fmt(pre)}: {fmt(post / pre)}x (Xiong et al. 2020 bound them O(1) against O(1/sqrt(L)): "
                          f"sqrt({depth}) = {fmt(depth ** 0.5)}x). From first layer to last, Post-LN's gradient changes "
                          f"{fmt(rp)}x and Pre-LN's {fmt(rq)}x. " + tf.agreement(rp, rq),
                  dict(last_post_ln=post, last_pre_ln=pre, ratio_post_ln=rp, ratio_pre_ln=rq),
                  {"grads": grads, "ratios": ratios})


REVEALS = {"chain": chain_step, "identity": identity, "gradient": gradient_at_init, "degradation": degradation, "residuals": residual_size,
           "lesion": delete_block, "landscape": landscape_step, "designs": design_step,
           "refinement": refinement_step, "normfree": normfree_step,
           "transformer": transformer_step}

STEPS = (  # STEPS[k] is step k, ?step=k in a link
    Step("chain", "One dimension", "A chain of L scalar layers, each with a small random slope f'. Its gradient "
         "dx_L/dx_0 is a product of L factors: f' each without skips, 1 + f' each with them. Which stays near 1 as L "
         "grows?", CHAIN_ANSWERS, "spread of f'", chain.SPREADS, None,
         "A product of many numbers below 1 goes to 0, of many above 1 to infinity; a product of numbers near 1 stays near 1."),
    Step("identity", "The block", "If a residual block's branch outputs F(x) = 0, what does the block compute?",
         ("y = x: the block passes its input on", "y = 0: the block stops the signal", "something else"),
         "depth", (20, 56, 110), "gradient_flow", "y = F(x) + x: with F = 0 only the skip is left."),
    Step("gradient", "The gradient at init", "At initialisation, which network's first layer gets the larger gradient?",
         ("plain-{0}", "ResNet-{0}"), "depth", (56, 20, 110), "gradient_flow",
         "BatchNorm rescales every layer's signal, which multiplies the gradient on the way back in a plain net."),
    Step("degradation", "Degradation", "Trained with the same recipe, which ends with the lower training error?",
         ("plain-20", "plain-56"), "data set", ("cifar10", "shapes"), "train",
         "It is not overfitting: the training error itself is higher (He et al. 2015, Fig. 6)."),
    Step("residuals", "What trained blocks learn", "In trained ResNets of depth 20 to 56, how does the size of F(x) "
         "against x change with depth?", ("smaller in deeper nets", "larger in deeper nets", "about the same"),
         "test images", (100, 200, 500), "residuals", "More blocks share the work, so each one changes less."),
    Step("lesion", "Delete one block", "Delete one block of a trained 56-layer network: which suffers more?",
         ("ResNet-56", "plain-56"), "test images", (100, 200, 500), "residuals",
         "In a plain net every path goes through every block; a ResNet has 2^n paths of all lengths."),
    Step("landscape", "The loss landscape", "Around the trained weights, which network's loss surface is smoother?",
         ("ResNet-56", "plain-56", "neither"), "images", (32, 64, 128), "landscape",
         "Li et al. 2018: skips keep the loss surface smooth enough to train in deep nets."),
    Step("designs", "The designs it grew into", "Which design keeps the gradient at the first block closest to the "
         "last block's, at init?", tuple(DESIGNS), "depth", (20, 56), "designs",
         "Pre-activation, bottleneck, MobileNetV2's inverted residual, DenseNet's concatenation and highway gates all "
         "keep a path that skips the layers."),
    Step("refinement", "What each block does", "In a trained ResNet-56, which way does each block's residual F(h) "
         "move its input h?", ("down the loss in most blocks", "up the loss in most blocks",
                               "neither: about half of the blocks each way"), "test images", (200, 100, 500), "beyond",
         "A residual block adds a small step to h; training makes that step point where the loss falls."),
    Step("normfree", "Without batch norm", "Without batch norm, which net's gradient stays the same size from the last "
         "block to the first, at init?", ("plain, no BN", "residual, no BN", "ReZero"), "depth", (110, 56, 20),
         "beyond", "ReZero (and Fixup, SkipInit) start each branch at zero: every block starts as the identity."),
    Step("transformer", "The transformer's stream", "At init, in which transformer does the last layer (next to the "
         "output) get the larger gradient?", ("Post-LN", "Pre-LN", "about the same in both"), "layers",
         (12, 6, 24), "transformer", "Pre-LN's stream is a clean sum that grows with depth, and each layer's normalised input "
         "makes its share of the output, and so its gradient, smaller; Post-LN renormalises after every sum."),
)


def choices(step: Step, setting) -> list[str]:
    """The step's choices, with the depth filled in where a choice names a network of the step's depth."""
    return [c.format(setting) for c in step.choices]


def query(step: Step, setting) -> dict:
    """The full page's link parameters that show exactly what the step computed."""
    if step.key == "chain":
        return {}
    if step.key == "identity":
        return {"depth": str(setting), "init": "zero_residual", "bn_mode": "eval", "batch": "16"}
    if step.key == "gradient":
        return {"depth": str(setting), "batch": "16"}
    if step.key == "degradation":
        return {"tr_deg_dataset": setting}
    if step.key == "residuals":
        # (the Residuals page's model picker, and so its link, holds the names a person reads)
        return {"res_dataset": "cifar10", "res_models": [model_name(n) for n in PUBLISHED], "res_n": str(setting)}
    if step.key == "lesion":
        return {"res_dataset": "cifar10", "res_models": [model_name(n) for n in ("cifar10-resnet56", "cifar10-plain56")],
                "res_view": "Lesions",
                "res_n": str(setting)}
    if step.key == "landscape":
        return {"ls_pair": "cifar10 depth 56", "ls_images": str(setting), "ls_steps_1d": "11"}
    if step.key == "refinement":
        return {"by_view": "Iterative refinement", "by_pair": "ResNet-56 (published) and plain-56",
                "by_images": str(setting)}
    if step.key == "normfree":
        return {"by_view": "Without batch norm", "by_depth": str(setting)}
    if step.key == "transformer":
        return {"tf_depth": str(setting)}
    return {"ds_depth": str(setting), "ds_batch": "8"}


def verdict(prediction: str | None, reveal: Reveal) -> str:
    """How the learner's prediction compares with what the computation says."""
    if prediction is None:
        return ""
    return "Your prediction was right." if prediction == reveal.answer else f"The numbers say: {reveal.answer}."


def record(step: Step, setting, prediction: str | None, reveal: Reveal, extra: dict | None = None) -> list:
    """A revealed step in words, for a student's report: [(label, sentence)], the question, the setting, the
    prediction, the answer the numbers gave and the takeaway."""
    settings = ", ".join([f"{step.setting} {setting}", *(f"{k} {v}" for k, v in (extra or {}).items())])
    return [("Question", step.question), ("Computed for", settings),
            ("Your prediction", prediction or "none made before the reveal"),
            ("The numbers say", reveal.answer), ("Why", reveal.takeaway)]


def as_table(reveal: Reveal) -> pd.DataFrame:
    """The step's numbers as a table (for the CSV download)."""
    return pd.DataFrame({"quantity": list(reveal.numbers), "value": [float(v) for v in reveal.numbers.values()]})


