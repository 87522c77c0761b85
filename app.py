"""skiplab: the frame. Page config, navigation over pages/, the shared sidebar."""

import os

# Every session's passes share this one process and its 2 cores. OpenMP threads that spin while they wait for work
# steal the cores from the other sessions' passes: two concurrent ResNet-56 passes took 3.0 s each with the default
# spinning and 0.6 s with passive waiting (bench/load.py measures the server). Set before torch loads; the
# environment's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

# The tab's icon is a file here: a ":material/..." page icon makes every browser fetch it from a font server.
ICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "skiplab-icon.png")
st.set_page_config(page_title="skiplab", page_icon=ICON, layout="wide")
from frame import framing, warmup  # noqa: E402

warmup.yield_to_visitors()  # the start-up warm-up's runs take the CPU only when no visitor wants it

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/lesson.py", title="Lesson", icon=":material/school:"),
    st.Page("pages/gradient_flow.py", title="Gradient flow", icon=":material/show_chart:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/image_search:"),
    st.Page("pages/landscape.py", title="Loss landscape", icon=":material/landscape:"),
    st.Page("pages/shattered.py", title="Shattered gradients", icon=":material/scatter_plot:"),
    st.Page("pages/designs.py", title="Skip designs", icon=":material/account_tree:"),
    st.Page("pages/residuals.py", title="Residuals", icon=":material/stacked_line_chart:"),
    st.Page("pages/beyond.py", title="Beyond ResNet", icon=":material/trending_down:"),
    st.Page("pages/transformer.py", title="Transformer stream", icon=":material/text_fields:"),
]

# The frame draws the links itself: .streamlit/config.toml hides Streamlit's own sidebar navigation, so a fresh server
# never lists pages/' files by name (frame/framing.py says why).
page = st.navigation(PAGES, position="hidden")
for nav_page in PAGES:
    st.sidebar.page_link(nav_page)
st.sidebar.caption("skiplab: what a skip connection changes, measured live. y = F(x) + x")
warmup.badge()  # "warming up: n of m", then "ready"

# Classroom (issue 7): presentation mode (also `?present=true` in a link) and an HTML report of the page.
from frame import report, ui  # noqa: E402
from viz.measures.common import give_back_memory_when_idle  # noqa: E402

with ui.url_bound({"present": "switch (true or false)"}):
    present = st.sidebar.toggle("Presentation mode", key="present", bind="query-params",
                                help="Larger fonts and charts for a projector; controls folded into a Settings button, "
                                     "sidebar, downloads and tables tucked away. Open the sidebar (top left) to switch "
                                     "it off.")
# One chart style for the page around the charts too: captions readable (not small faint grey), projected or not.
st.html("""<style>
  [data-testid="stCaptionContainer"] { color: rgba(30, 33, 45, 0.88); font-size: 0.95rem; }
</style>""")
if present:  # the controls fold into a Settings popover (ui.controls), so every page opens on its first chart
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html("""<style>
      html { font-size: 20px; }
      [data-testid="stHeader"] { background: transparent; }
      [data-testid="stMainBlockContainer"] { max-width: 100%; padding: 2.6rem 2.5rem 1.5rem; }
      [data-testid="stMainBlockContainer"] h1 { font-size: 1.8rem; padding: 0 0 0.3rem; }
      [data-testid="stMainBlockContainer"] h2 { font-size: 1.35rem; padding: 0.4rem 0 0.2rem; }
      [data-testid="stDownloadButton"], [data-testid="stExpander"], [data-testid="stToolbar"],
      [data-testid="stDecoration"] { display: none; }
      [data-testid="stCaptionContainer"] { font-size: 0.95rem; }
    </style>""")
ui.drop_infinite_link_values()
report_slot = st.sidebar.empty()
report.start()
try:
    with framing.framed():
        page.run()
    report.download(report_slot, page.title)
finally:  # once per server, after its first visit (also one a page ends with st.stop): every page's default view
    warmup.start([p.url_path for p in PAGES])  # computed into the caches all sessions share (frame/warmup.py)
    give_back_memory_when_idle(forget=ui.forget_idle_models)  # and, while nothing is measured, what finished runs,
    # closed sessions and models unused for a while held
