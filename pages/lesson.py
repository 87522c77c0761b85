"""Lesson: seven steps, each a question to predict, then the answer computed live on real networks."""

import streamlit as st

from frame import ui
from viz.charts import lesson as lesson_charts
from viz.measures import lesson as L

ui.require_frame(__file__)

STEPS, N = L.STEPS, len(L.STEPS)


@st.cache_data(max_entries=32, show_spinner=False)
def reveal(key: str, setting):
    """A step's computation, shared by every session (a class reveals the same step at once)."""
    return L.REVEALS[key](setting)


def go(k: int):
    """Back and Next: the step widget (bound to the link) moves to step k."""
    st.session_state.step = str(k)


st.title("Lesson: why the skip works")
with ui.url_bound({"step": f"step (1 to {N})"}):
    # (the options are what a link holds, ?step=3: Streamlit writes a choice's label into the URL)
    k = int(st.segmented_control("Step", [str(i) for i in range(1, N + 1)], default="1", key="step",
                                 bind="query-params", help="Every step has its own link (?step=3): the projector and "
                                 "the students' screens can follow.") or 1)
step = STEPS[k - 1]
st.progress(k / N, text=f"Step {k} of {N}: {step.title}")
st.markdown(f"### {step.question}")
with ui.url_bound({f"lesson_{step.key}": step.setting}):
    setting = st.segmented_control(step.setting.capitalize(), list(step.options), default=step.options[0],
                                   key=f"lesson_{step.key}", bind="query-params",
                                   help=f"The {step.setting} the answer is computed for.") or step.options[0]
choices = L.choices(step, setting)
guess = st.radio("Your prediction", choices, index=None, key=f"lesson_guess_{step.key}_{setting}",
                 help="Choose before you reveal: the answer is computed, not written down.")
shown = f"lesson_shown_{step.key}_{setting}"
if st.button("Reveal the answer", type="primary", key=f"lesson_reveal_{step.key}", disabled=bool(st.session_state.get(shown)),
             help="Runs the computation on the real networks and shows what it says."):
    st.session_state[shown] = True
if st.session_state.get(shown):
    with ui.guard(f"compute step {k}"), st.spinner(f"Computing: {L.REVEALS[step.key].__doc__.splitlines()[0]}"):
        r = reveal(step.key, setting)
        said = L.verdict(guess, r)
        st.markdown(f"**{said}** {r.takeaway}" if said else r.takeaway)
        ui.show_chart(lesson_charts.chart(step.key, r))
        st.caption(step.why)
        st.page_link(f"pages/{step.page}.py", label="Open the full page with these settings", icon=":material/open_in_new:",
                     query_params=L.query(step, setting))
        ui.csv_download(L.as_table(r), f"lesson_step{k}_{step.key}", "The step's numbers (CSV)")
back, ahead = st.columns(2)
back.button("Back", key="lesson_back", on_click=go, args=(k - 1,), disabled=k == 1, icon=":material/arrow_back:",
            help="The previous step.")
ahead.button("Next", key="lesson_next", on_click=go, args=(k + 1,), disabled=k == N, icon=":material/arrow_forward:",
             help="The next step.")
