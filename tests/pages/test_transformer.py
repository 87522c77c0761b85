"""AppTest for the Transformer-stream page, on small settings."""

import pytest

from tests.pages.test_landscape import charts, open_page, text


@pytest.mark.slow
def test_transformer_page_shows_init_charts_then_races():
    at = open_page("pages/transformer.py", tf_depth=4, tf_batch=2)
    assert at.title[0].value == "Transformer stream"
    assert len(charts(at)) == 3
    caps = text(at) + " " + text(at, "markdown") + " " + " ".join(str(e.value) for e in at.info)
    assert "At 4 layers Post-LN's last layer gets" in caps and "Xiong et al." in caps and "Per token, the stream" in caps
    at.multiselect(key="tf_noskip").set_value([1, 2]).run()
    assert not at.exception and not at.error and len(charts(at)) == 3
    at.session_state["tf_race_depth"] = 2
    at.session_state["tf_steps"] = 30
    at.button(key="tf_race").click().run()
    assert not at.exception and not at.error and len(charts(at)) == 4
    assert "Pre-LN reached" in text(at) + " " + text(at, "markdown")
