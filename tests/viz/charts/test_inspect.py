"""Inspect's charts: how a confidence reads."""


def test_confidences_never_read_100_percent_for_what_is_only_nearly_so():
    import pandas as pd

    from viz.charts.inspect import confidence, top_fig

    assert [confidence(p) for p in (0.99996, 0.9994, 1.0, 0.5, 0.0004, 0.0)] == [
        "> 99.9%", "99.9%", "100.0%", "50.0%", "< 0.1%", "0.0%"]
    sure = pd.DataFrame({"rank": [1, 2], "label": ["cat", "dog"], "prob": [0.99997, 0.00003], "cls": [0, 1]})
    assert list(top_fig(sure).data[0].text) == ["> 99.9%", "< 0.1%"]
