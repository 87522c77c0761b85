"""Iterative refinement (Jastrzebski et al., ICLR 2018, "Residual connections encourage iterative inference"): does
each block of a trained ResNet move its input a small step down the loss, like a gradient step?

For block i with input h_i and residual F_i(h_i): cos(F_i(h_i), -dL/dh_i) per image (positive: the block moves h_i
down the loss, to first order), and the loss of reading out after the block: the trained head (pool + fc, as the
model does) on h_{i+1} carried to it by the later blocks' shortcuts alone (every later branch dropped, Veit et al.'s
lesion; the shortcuts subsample and zero-pad where a stage changes the shape).

    python -m viz.measures.refinement --model cifar10-resnet56-published
"""

import argparse

import pandas as pd
import torch
import torch.nn.functional as F

from viz.measures.common import as_float, borrowed, in_chunks
from viz.words import fmt, model_name

COLUMNS = ["block", "stage", "same_shape", "cosine", "positive_share", "step_cosine", "batch_cosine", "readout_loss",
           "readout_acc", "images"]


def _per_image(model, images, labels):
    """One chunk: a row per (image, block), block -1 being the stem's output (readout only)."""
    with borrowed(model, train=False) as net, torch.enable_grad():
        x = as_float(images)
        steps = list(net.run_blocks(net.features(x)))  # Step(block, x = h_i, fx = F_i(h_i), out = h_{i+1})
        loss = F.cross_entropy(net.head(steps[-1].out), labels, reduction="sum")  # per-image gradients, unscaled
        grads = torch.autograd.grad(loss, [st.x for st in steps])
        n, rows = len(steps), []
        with torch.no_grad():
            for i, h in [(-1, steps[0].x), *((st.block, st.out) for st in steps)]:
                for carried in net.run_blocks(h, drop=[True] * n, start=i + 1):  # the shortcuts alone
                    h = carried.out
                logits = net.head(h)
                frame = pd.DataFrame(dict(image=range(len(labels)), block=i,
                                          readout_loss=F.cross_entropy(logits, labels, reduction="none").numpy(),
                                          readout_correct=(logits.argmax(1) == labels).numpy()))
                if i >= 0:
                    st, g = steps[i], grads[i]
                    same = st.fx.shape == g.shape
                    f, gf = st.fx.flatten(1), -g.flatten(1)
                    cos, step = ((F.cosine_similarity(d.flatten(1), gf, dim=1, eps=1e-30).numpy()
                                  for d in (st.fx, st.out - st.x)) if same else (float("nan"),) * 2)
                    sums = ((f * gf).sum(1).numpy(), (f * f).sum(1).numpy(), (gf * gf).sum(1).numpy()) if same \
                        else (float("nan"),) * 3  # the batch's cosine, from sums over images
                    frame = frame.assign(stage=net.blocks[i].stage, same_shape=same, cosine=cos, step_cosine=step,
                                         fg=sums[0], ff=sums[1], gg=sums[2])
                rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def refinement(model, images, labels, size: int = 128, progress=None) -> pd.DataFrame:
    """Per block of a trained model, over a batch of images: the mean of cos(F_i(h_i), -dL/dh_i) and the share of
    images where it is positive, and the loss and accuracy of reading out after the block.

    Args:
        model: a models.resnet.ResNet (eval mode is used: BN running statistics; the model is never changed).
        images: (N, C, 32, 32) uint8 or float in [0, 1]. labels: (N,) int64.
        size: images per pass. progress: called with the fraction done.
    Returns:
        DataFrame, a row per block and a first row (block -1, the stem's output) with readout only: block, stage,
        same_shape (False where the block changes the shape: F(h) and h differ in shape, no cosine), cosine (mean
        over images), positive_share, step_cosine (the same for the block's actual move h_{i+1} - h_i, which in a
        post-activation block is act(h_i + F_i(h_i)) - h_i, not F_i(h_i)), batch_cosine (cos(F, -dL/dh) of the whole
        batch as one vector, which weighs each image by its gradient: the badly classified ones most), readout_loss (mean cross-entropy), readout_acc, images.
    """
    per = in_chunks(_per_image, model, images, labels, size=size, progress=progress)
    out = per.groupby("block", sort=True).agg(
        stage=("stage", "first"), same_shape=("same_shape", "first"), cosine=("cosine", "mean"),
        positive_share=("cosine", lambda c: float((c > 0).mean()) if c.notna().all() else float("nan")),
        step_cosine=("step_cosine", "mean"), fg=("fg", "sum"), ff=("ff", "sum"), gg=("gg", "sum"),
        readout_loss=("readout_loss", "mean"), readout_acc=("readout_correct", "mean"), images=("image", "size"),
    ).reset_index()
    out.loc[out.block == -1, ["stage", "same_shape"]] = [-1, False]
    out["batch_cosine"] = (out.fg / (out.ff * out.gg) ** 0.5).where(out.same_shape)
    return out.astype({"stage": int, "same_shape": bool})[COLUMNS]


def summary(table: pd.DataFrame) -> dict:
    """The numbers a finding is made of: blocks with a cosine (shape-keeping), how many positive, the mean cosine
    per stage, the readout loss after the stem and after the last block, and how many blocks lower it."""
    b = table[table.block >= 0]
    c = b[b.same_shape]
    losses = table.readout_loss.to_numpy()
    return dict(blocks=len(b), measured=len(c), positive=int((c.cosine > 0).sum()),
                step_positive=int((c.step_cosine > 0).sum()), batch_positive=int((c.batch_cosine > 0).sum()),
                stage_cosine={int(s): float(g.cosine.mean()) for s, g in c.groupby("stage")},
                stem_loss=float(losses[0]), final_loss=float(losses[-1]),
                lowering=int((losses[1:] < losses[:-1]).sum()))


def finding(name: str, s: dict, plain: bool = False) -> str:
    """One sentence from `viz.measures.refinement.summary`; name: a zoo id or a person's name for the network."""
    stages = ", ".join(f"stage {k + 1} {v:+.3f}" for k, v in sorted(s["stage_cosine"].items()))
    who, what = (f"{model_name(name)} (the plain twin)", "branches F_i") if plain else (model_name(name), "blocks")
    return (f"In {who}, {s['positive']} of {s['measured']} {what} (with the input's shape) have cosine > 0 with "
            f"-dL/dh (mean per stage: {stages}; the block's actual move h_(i+1) - h_i: {s['step_positive']} of "
            f"{s['measured']}; the whole batch as one vector: {s['batch_positive']} of {s['measured']}); reading out after each block, the loss goes from "
            f"{fmt(s['stem_loss'])} after the stem to {fmt(s['final_loss'])} at the end, lower after "
            f"{s['lowering']} of {s['blocks']} blocks.")


def test_images(model) -> tuple[str, str]:
    """(name for models.data.load_dataset, description) of the test images a zoo model (a models.registry.ModelRecord)
    is measured on: for CIFAR-10 the shipped sample of exact test pixels (the same for every model, published or
    trained here)."""
    from models.data import SAMPLE, describe_split

    split = SAMPLE if model.dataset.cifar else model.dataset.source
    return split, describe_split(split, "test")


def main(argv=None):
    from models import registry, zoo
    from models.data import load_dataset

    p = argparse.ArgumentParser(prog="python -m viz.measures.refinement",
                                description="cos(F_i(h_i), -dL/dh_i) and the readout loss after each block of a zoo "
                                            "model, on its test images (CIFAR-10: the shipped exact sample).")
    p.add_argument("--model", default="cifar10-resnet56-published", help="a zoo model name (python -m models.zoo)")
    p.add_argument("--images", type=int, default=932, help="how many test images (the first N)")
    a = p.parse_args(argv)
    try:
        model = zoo.load(a.model)
        split, where = test_images(registry.model(a.model))
        x, y = load_dataset(split, "test")
    except (ValueError, FileNotFoundError) as e:
        p.error(str(e))
    t = refinement(model, x[: a.images], y[: a.images])
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format):
        print(f"{a.model} on {len(x[: a.images])} images of {where}\n{t.to_string(index=False)}")
    print("\n" + finding(a.model, summary(t), plain=not model.config.skip))


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
