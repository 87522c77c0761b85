"""AppTest for the Skip-designs page, on small settings."""

from tests.pages.test_landscape import charts, open_page


def test_designs_page_compares_every_design_in_one_chart():
    at = open_page("pages/designs.py", ds_depth=8, ds_batch=4)
    assert at.title[0].value == "Skip designs"
    fig = charts(at)[0].proto.spec
    for name in ("post-activation", "pre-activation", "bottleneck", "inverted residual", "dense", "highway", "plain"):
        assert name in fig
    table = at.dataframe[0].value
    assert len(table) == 7 and (table.params > 0).all()
    assert at.get("download_button")
