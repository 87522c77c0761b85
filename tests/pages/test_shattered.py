"""AppTest for the Shattered-gradients page, on small settings."""

from tests.pages.test_landscape import charts, open_page, text

VIEWS = ("The gradients", "Autocorrelation", "Against depth", "Image classifiers")


def test_shattered_page_runs_and_reports_correlations():
    at = open_page("pages/shattered.py", sh_depth=8, sh_seeds=1, sh_radius=0.05)
    assert at.title[0].value == "Shattered gradients"
    # one chart at a time (issue 16: a first view says one thing); each of the four is one click away
    assert len(charts(at)) == 1 and at.segmented_control(key="sh_show").value == VIEWS[0]
    caps = text(at) + " " + text(at, "markdown")  # (the headlines are Markdown, the details captions)
    for view in VIEWS[1:]:
        at.segmented_control(key="sh_show").set_value(view).run()
        assert not at.exception and not at.error and len(charts(at)) == 1, view
        caps += " " + text(at) + " " + text(at, "markdown")
    assert "neighbour correlation" in caps and "Balduzzi et al. 2017" in caps and "L = 50" in caps
    shapes20 = [o for o in at.selectbox(key="sh_nets").options if str(o).startswith("shapes, depth 20")]
    if shapes20:  # (the default pair is CIFAR-10's; the shapes pair names the shapes class of the image)
        at.selectbox(key="sh_nets").set_value(shapes20[0]).run()
    at.number_input(key="sh_image").set_value(3).run()
    assert not at.exception and not at.error
    assert "Image 3: a frame." in text(at) or not shapes20
