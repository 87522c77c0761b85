"""The probe's public address: `viz.probe.probe`, `viz.probe.Trace` (computed in viz/measures/probe.py), and its
command line.

`python -m viz.probe --depth 56 --no-skip --norm batch --batch 32 --seed 0 --format table` prints the tables.
"""

import argparse
import json
import sys

import pandas as pd

from viz.measures.probe import BLOCK_COLUMNS, Trace, conv_responses, network_name, probe, weight_layers

__all__ = ["BLOCK_COLUMNS", "Trace", "conv_responses", "main", "network_name", "probe", "weight_layers"]


def main(argv=None):
    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import INITS, ResNet, ResNetConfig

    p = argparse.ArgumentParser(prog="python -m viz.probe", description="Probe a ResNet at init on shapes data.")
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--no-skip", dest="skip", action="store_false")
    p.add_argument("--norm", default="batch", choices=["batch", "none"])
    p.add_argument("--activation", default="relu", choices=["relu", "tanh", "sigmoid"])
    p.add_argument("--init", default="kaiming", choices=list(INITS))
    p.add_argument("--shortcut", default="A", choices=["A", "B"])
    p.add_argument("--bn-mode", default="train", choices=["train", "eval"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    a = p.parse_args(argv)
    try:
        cfg = ResNetConfig(depth=a.depth, skip=a.skip, norm=a.norm, activation=a.activation, init=a.init,
                           shortcut=a.shortcut, mean=SHAPES_MEAN, std=SHAPES_STD)
    except ValueError as e:
        p.error(str(e))
    model = ResNet(cfg, seed=a.seed)  # the weights the Gradient-flow page shows for this seed
    x, y = make_shapes("test", n=a.batch, seed=a.seed)
    t = probe(model, x.float() / 255, y, bn_mode=a.bn_mode)
    if a.format == "json":
        json.dump({"name": t.name, "loss": t.loss, "layers": t.layers.to_dict("records"),
                   "blocks": t.blocks.to_dict("records")}, sys.stdout, indent=1)
        print()
    elif a.format == "csv":
        print(t.layers.to_csv(index=False))
        print(t.blocks.to_csv(index=False))
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200, "display.float_format", "{:.4g}".format):
            print(f"{t.name}  loss {t.loss:.4f}\n\nlayers\n{t.layers}\n\nblocks\n{t.blocks}")
        from viz.charts.gradient_flow import describe_gradient_ratio
        from viz.measures.gradient_flow import first_last_gradients

        print("\nThe first layer's gradient against the last layer's: "
              + describe_gradient_ratio(t.name, *first_last_gradients(t.layers)) + ".")


if __name__ == "__main__":
    main()
