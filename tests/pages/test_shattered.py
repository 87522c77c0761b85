"""AppTest for the Shattered-gradients page, on small settings."""

from tests.pages.test_landscape import charts, open_page, text


def test_shattered_page_runs_and_reports_correlations():
    at = open_page("pages/shattered.py", sh_depth=8, sh_seeds=1, sh_radius=0.05)
    assert at.title[0].value == "Shattered gradients"
    assert len(charts(at)) == 4
    caps = text(at)
    assert "neighbour correlation" in caps and "Balduzzi et al. 2017" in caps and "L = 50" in caps
    shapes20 = [o for o in at.selectbox(key="sh_nets").options if str(o).startswith("shapes, depth 20")]
    if shapes20:  # (the default pair is CIFAR-10's; the shapes pair names the shapes class of the image)
        at.selectbox(key="sh_nets").set_value(shapes20[0]).run()
    at.number_input(key="sh_image").set_value(3).run()
    assert not at.exception and not at.error
    assert "Image 3: a frame." in text(at) or not shapes20
