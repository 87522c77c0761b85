"""The Streamlit internals skiplab uses are checked against the pinned version: another version fails at start."""

import re
from pathlib import Path

import pytest
import streamlit as st

from frame import streamlit_compat as compat

ROOT = Path(__file__).resolve().parents[2]


def test_the_pinned_version_is_the_required_one_and_the_installed_one():
    pin = re.search(r"^streamlit==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)[1]
    assert compat.PINNED == pin == st.__version__


@pytest.mark.parametrize("other", ["1.66.0", "1.68.0", "2.0.0"])
def test_another_streamlit_version_fails_loudly_with_what_to_do(other):
    with pytest.raises(RuntimeError, match=r"streamlit==1\.67\.0.*pip install -r requirements.txt"):
        compat.check_version(other)


def test_the_internals_it_reaches_for_exist_in_this_version():
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.state.query_params import QueryParams
    from streamlit.runtime.state.session_state import SessionState, WidgetMetadata

    assert hasattr(PagesManager, "uses_pages_directory")
    assert "_initial_query_params" in QueryParams.__dataclass_fields__ or hasattr(QueryParams(), "_initial_query_params")
    assert "formatted_options" in WidgetMetadata.__dataclass_fields__
    assert hasattr(SessionState(), "_key_id_mapper") and hasattr(SessionState(), "_new_widget_state")
