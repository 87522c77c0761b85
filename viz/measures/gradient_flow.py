"""The Gradient-flow page's numbers from the probe's tables: the main path's convs, the first and last layer's
gradient, one table for several networks."""

import pandas as pd


def main_convs(layers: pd.DataFrame) -> pd.DataFrame:
    """The conv layers on the signal's main path (stem and branches), in input-to-output order."""
    return layers[layers.path.isin(["stem", "branch"]) & (layers.kind == "conv")].sort_values("order").reset_index(drop=True)


def first_last_gradients(layers: pd.DataFrame):
    """(first conv's gradient norm, last conv's gradient norm) on the main path."""
    convs = main_convs(layers)
    return float(convs.grad_norm.iloc[0]), float(convs.grad_norm.iloc[-1])


def tidy(traces, table):
    """One table for several traces, with a `network` column first."""
    return pd.concat([getattr(t, table).assign(network=t.name) for t in traces], ignore_index=True).pipe(
        lambda d: d[["network"] + [c for c in d.columns if c != "network"]]
    )
