"""AppTest for the Loss-landscape, Shattered-gradients and Skip-designs pages, on small settings."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(page, **state):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def text(at, what="caption"):
    return " ".join(str(e.value) for e in getattr(at, what))


def charts(at):
    return at.get("plotly_chart")


def test_landscape_page_draws_1d_then_2d_with_csv():
    at = open_page("pages/landscape.py", **{"ls_steps_1d": 5, "ls_images": 8,
                                           "ls_steps_2d": 3})
    assert at.title[0].value == "Loss landscapes"
    assert len(charts(at)) == 1
    caps = text(at)
    assert "Li et al. 2018" in caps and "8 training images" in caps
    assert "ResNet-" in caps or "plain-" in caps
    assert at.get("download_button"), "the grid must download as CSV"
    if "untrained depth 20" == at.selectbox(key="ls_pair").value:
        assert "Untrained" in text(at, "warning")  # says clearly that no trained pair is used
    at.radio(key="ls_dims").set_value("2-D surface").run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 2  # contours and 3-D surfaces (tabs)
    assert "same colour scale" in " ".join(str(c.proto.spec) for c in charts(at))


def test_landscape_page_says_which_zoo_models_are_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))  # an empty user zoo: only the shipped models exist
    from models import zoo

    have = set(zoo.list().name)
    expected = ["shapes-resnet20", "shapes-plain20", "shapes-resnet56", "shapes-plain56"]
    at = open_page("pages/landscape.py", **{"ls_steps_1d": 3, "ls_images": 8})
    info = text(at, "info")
    for n in expected:
        assert (n in info) == (n not in have), (n, info)
    options = at.selectbox(key="ls_pair").options
    assert options[-1] == "untrained depth 20"
    assert ("shapes depth 20" in options) == bool({"shapes-resnet20", "shapes-plain20"} & have)


def test_shattered_page_runs_and_reports_correlations():
    at = open_page("pages/shattered.py", sh_depth=8, sh_seeds=1, sh_radius=0.05)
    assert at.title[0].value == "Shattered gradients"
    assert len(charts(at)) == 4
    caps = text(at)
    assert "neighbour correlation" in caps and "Balduzzi et al. 2017" in caps and "L = 50" in caps
    at.number_input(key="sh_image").set_value(3).run()
    assert not at.exception and not at.error
    assert "Image 3: a frame." in text(at)


def test_designs_page_compares_every_design_in_one_chart():
    at = open_page("pages/designs.py", ds_depth=8, ds_batch=4)
    assert at.title[0].value == "Skip designs"
    fig = charts(at)[0].proto.spec
    for name in ("post-activation", "pre-activation", "bottleneck", "inverted residual", "dense", "highway", "plain"):
        assert name in fig
    table = at.dataframe[0].value
    assert len(table) == 7 and (table.params > 0).all()
    assert at.get("download_button")
