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
page.run()
