"""Lesson: nine steps (0 to 8), each a question to predict, then the answer computed live: step 0 on a chain of
scalar layers, the others on real networks. Numbered from 0 so that links to steps 1-8 made before step 0 still hold."""

import streamlit as st

from frame import report, ui
from viz.charts import lesson as lesson_charts
from viz.measures import chain
from viz.measures import lesson as L

ui.require_frame(__file__)

STEPS, N = L.STEPS, len(L.STEPS)


@st.cache_data(max_entries=32, show_spinner=False)
def reveal(key: str, setting, **extra):
    """A step's computation, shared by every session (a class reveals the same step at once)."""
    return L.REVEALS[key](setting, **extra)


def go(k: int):
    """Back and Next: the step widget (bound to the link) moves to step k."""
    st.session_state.step = str(k)


st.title("Lesson: why the skip works")
with ui.url_bound({"step": f"step (0 to {N - 1})"}):
    # (the options are what a link holds, ?step=3: Streamlit writes a choice's label into the URL)
    k = int(st.segmented_control("Step", [str(i) for i in range(N)], default="0", key="step",
                                 bind="query-params", help="Every step has its own link (?step=3): the projector and "
                                 "the students' screens can follow.") or 0)
step = STEPS[k]
st.progress((k + 1) / N, text=f"Step {k} of {N - 1}: {step.title}")
st.markdown(f"### {step.question}")
with ui.url_bound({f"lesson_{step.key}": step.setting}):
    setting = st.segmented_control(step.setting.capitalize(), list(step.options), default=step.options[0],
                                   key=f"lesson_{step.key}", bind="query-params",
                                   help=f"The {step.setting} the answer is computed for.") or step.options[0]
    extra = {}
    if step.key == "chain":  # the chain's second control: its length
        extra["layers"] = int(st.select_slider("Layers L", chain.LAYERS, value=50, key="lesson_chain_layers",
                                               bind="query-params", help="How many scalar layers the chain has."))
choices = L.choices(step, setting)
guess = st.radio("Your prediction", choices, index=None, key=f"lesson_guess_{step.key}_{setting}",
                 help="Choose before you reveal: the answer is computed, not written down.")
shown = f"lesson_shown_{step.key}_{setting}"
if st.button("Reveal the answer", type="primary", key=f"lesson_reveal_{step.key}", disabled=bool(st.session_state.get(shown)),
             help="Runs the computation on the real networks and shows what it says."):
    st.session_state[shown] = True
if st.session_state.get(shown):
    with ui.guard(f"compute step {k}"), st.spinner(f"Computing: {L.REVEALS[step.key].__doc__.splitlines()[0]}"):
        r = reveal(step.key, setting, **extra)
        said = L.verdict(guess, r)
        st.session_state.setdefault("lesson_record", {})[step.key] = L.record(step, setting, guess, r, extra)
        st.markdown(f"**{said}** {r.takeaway}" if said else r.takeaway)
        ui.show_chart(lesson_charts.chart(step.key, r))
        st.caption(step.why)
        if step.page:
            st.page_link(f"pages/{step.page}.py", label="Open the full page with these settings",
                         icon=":material/open_in_new:", query_params=L.query(step, setting))
        ui.csv_download(L.as_table(r), f"lesson_step{k}_{step.key}", "The step's numbers (CSV)")
back, ahead = st.columns(2)
back.button("Back", key="lesson_back", on_click=go, args=(k - 1,), disabled=k == 0, icon=":material/arrow_back:",
            help="The previous step.")
ahead.button("Next", key="lesson_next", on_click=go, args=(k + 1,), disabled=k == N - 1, icon=":material/arrow_forward:",
             help="The next step.")

for i, past in enumerate(STEPS):  # the report: every step this session revealed, in words
    if past.key in st.session_state.get("lesson_record", {}):
        report.add_words(f"Lesson step {i}: {past.title}", st.session_state.lesson_record[past.key])
