"""skiplab: the frame. Page config, navigation over pages/, the shared sidebar."""

import streamlit as st

st.set_page_config(page_title="skiplab", page_icon=":material/alt_route:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/gradient_flow.py", title="Gradient flow", icon=":material/show_chart:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/image_search:"),
    st.Page("pages/landscape.py", title="Loss landscape", icon=":material/landscape:"),
    st.Page("pages/shattered.py", title="Shattered gradients", icon=":material/scatter_plot:"),
    st.Page("pages/designs.py", title="Skip designs", icon=":material/account_tree:"),
    st.Page("pages/residuals.py", title="Residuals", icon=":material/stacked_line_chart:"),
]

page = st.navigation(PAGES)
st.sidebar.caption("skiplab: what a skip connection changes, measured live. y = F(x) + x")

# Classroom (issue 7): presentation mode (also `?present=true` in a link) and an HTML report of the page.
from pages import ui  # after st.navigation: pages.ui may switch a fresh server to it

with ui.url_bound({"present": "switch (true or false)"}):
    present = st.sidebar.toggle("Presentation mode", key="present", bind="query-params",
                                help="Larger fonts and charts for a projector; sidebar, downloads and tables tucked "
                                     "away. Open the sidebar (top left) to switch it off.")
if present:
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html("""<style>
      html { font-size: 21px; }
      [data-testid="stMainBlockContainer"] { max-width: 100%; padding: 4rem 2.5rem 1.5rem; }
      [data-testid="stDownloadButton"], [data-testid="stExpander"], [data-testid="stToolbar"],
      [data-testid="stDecoration"] { display: none; }
      [data-testid="stCaptionContainer"] { font-size: 0.95rem; }
    </style>""")
ui.drop_infinite_link_values()
report_slot = st.sidebar.empty()
ui.report_start()
page.run()
ui.report_download(report_slot, page.title)
