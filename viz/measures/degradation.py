"""Degradation, measured live: the training-error curves of a ResNet and its plain twin trained side by side
(models.twins.train_twins), smoothed, and the first moment the plain twin is visibly behind.

A visible gap: the plain twin's training error, averaged over its last WINDOW steps, is at least GAP_POINTS
percentage points above the ResNet's at the same step, and stays so at every later step both twins reached."""

import threading
import time

import pandas as pd

WINDOW = 10  # steps in the trailing mean of the training error (one batch is noisy)
GAP_POINTS = 5.0  # percentage points of training error: a gap a class sees on the chart
COLUMNS = ["skip", "step", "seconds", "loss", "error"]


class TwinLog:
    """The twins' step events (models.train.train's callback dicts), recorded from their threads with the seconds
    since the log was made; `record` is train_twins' on_step (it never asks to stop)."""

    def __init__(self):
        self.t0, self.rows, self.lock = time.perf_counter(), [], threading.Lock()

    def record(self, skip: bool, ev: dict) -> bool:
        if ev["event"] == "step":
            step = (ev["epoch"] - 1) * ev["steps"] + ev["step"]
            with self.lock:
                self.rows.append((skip, step, time.perf_counter() - self.t0, ev["loss"], 100 * (1 - ev["acc"])))
        return False

    def table(self) -> pd.DataFrame:
        """A row per step and twin: skip, step (1, 2, ...), seconds since the start, loss, error (% of the batch)."""
        with self.lock:
            return pd.DataFrame(list(self.rows), columns=COLUMNS)


def error_curves(log: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """Both twins' training error side by side, a row per step both reached: step, seconds (when the later twin
    finished it), residual and plain (the error in %, a trailing mean over `window` steps) and gap (plain - residual).

    Args:
        log: TwinLog.table() (columns skip, step, seconds, error).
    """
    wide = {}
    for skip, g in log.sort_values("step").groupby("skip"):
        g = g.set_index("step")
        wide[bool(skip)] = (g.error.rolling(window, min_periods=1).mean(), g.seconds)
    if len(wide) < 2:
        return pd.DataFrame(columns=["step", "seconds", "residual", "plain", "gap"])
    out = pd.DataFrame({"residual": wide[True][0], "plain": wide[False][0],
                        "seconds": pd.concat([wide[True][1], wide[False][1]], axis=1).max(axis=1)}).dropna()
    out["gap"] = out.plain - out.residual
    return out.reset_index()[["step", "seconds", "residual", "plain", "gap"]]


def first_visible_gap(curves: pd.DataFrame, points: float = GAP_POINTS, window: int = WINDOW) -> dict | None:
    """The first step (at least `window` in, so the means are full) from which the gap stays >= `points` to the
    last step both twins reached: {step, seconds, gap}, or None when there is none (yet)."""
    c = curves[curves.step >= window]
    if c.empty or c.gap.iloc[-1] < points:
        return None
    below = c.index[c.gap < points]
    first = c.loc[below[-1] + 1] if len(below) else c.iloc[0]
    return {"step": int(first.step), "seconds": float(first.seconds), "gap": float(first.gap)}
