"""The transformer charts' sentences follow their numbers."""

import pandas as pd

from viz.charts import transformer as charts
from viz.measures import transformer as T


def test_agreement_sentence_follows_the_numbers():
    assert T.agreement(3.0, 1.0) == "Both agree with the paper."
    assert "disagrees" in T.agreement(1.2, 0.5) and "Post-LN's ratio 1.2" in T.agreement(1.2, 0.5)


def test_race_caption_names_a_stall():
    losses = pd.DataFrame(dict(variant=["Post-LN"] * 3 + ["Pre-LN"] * 3, step=[1, 2, 3] * 2,
                               loss=[4.0, 3.1, 3.05, 4.0, 3.0, 2.5]))
    _, cap = charts.race(losses, T.race_summary(losses, window=1), 3e-3, 4.0, 3.0)
    assert cap.headline.startswith("Post-LN stalled at 3.05") and "Pre-LN reached 2.5" in cap.headline
