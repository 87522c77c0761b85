"""Lesson: a few steps, each a question to predict, then the answer computed live on real networks. Alone, or as a
class in a room: the teacher's screen drives the students', who each predict before the teacher reveals."""

import streamlit as st

from frame import report, ui
from frame import rooms as room_ui
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


def reveal_in_room(seat, k: int, shown: str):
    st.session_state[shown] = True
    room_ui.store().reveal(seat.code, seat.key, k)


st.title("Lesson: why the skip works")
seat = room_ui.seat(N)
student = seat is not None and not seat.teacher
if seat is not None and seat.teacher:
    room_ui.projector(seat)
if student:  # the teacher's step: the control shows it, the student cannot move it
    k = seat.view.step
    st.query_params.pop("step", None)
    st.segmented_control("Step", [str(i) for i in range(1, N + 1)], default=str(k), key=f"room_step_{k}",
                         disabled=True, help="The teacher's step: your screen follows it.")
else:
    with ui.url_bound({"step": f"step (1 to {N})"}):
        # (the options are what a link holds, ?step=3: Streamlit writes a choice's label into the URL)
        k = int(st.segmented_control("Step", [str(i) for i in range(1, N + 1)], default="1", key="step",
                                     bind="query-params", help="Every step has its own link (?step=3): the projector "
                                     "and the students' screens can follow.") or 1)
if seat is not None and seat.teacher and k != seat.view.step:
    seat = room_ui.Seat(room_ui.store().advance(seat.code, seat.key, k), True, seat.key, "", "")
if student:
    room_ui.student_bar(seat)
step = STEPS[k - 1]
st.progress(k / N, text=f"Step {k} of {N}: {step.title}")
st.markdown(f"### {step.question}")
if seat is not None:  # a class answers for the step's default setting
    setting = step.options[0]
    st.segmented_control(step.setting.capitalize(), list(step.options), default=setting, disabled=True,
                         key=f"room_setting_{step.key}", help=f"In a room, the class answers for {step.setting} {setting}.")
else:
    with ui.url_bound({f"lesson_{step.key}": step.setting}):
        setting = st.segmented_control(step.setting.capitalize(), list(step.options), default=step.options[0],
                                       key=f"lesson_{step.key}", bind="query-params",
                                       help=f"The {step.setting} the answer is computed for.") or step.options[0]
choices = L.choices(step, setting)
shown = f"lesson_shown_{step.key}_{setting}"
revealed_in_room = seat is not None and k in seat.view.revealed
if seat is None:
    guess = st.radio("Your prediction", choices, index=None, key=f"lesson_guess_{step.key}_{setting}",
                     help="Choose before you reveal: the answer is computed, not written down.")
elif student:
    guess = room_ui.vote_box(seat, k, choices, revealed_in_room)
else:
    guess, tally_slot = None, st.container()
if seat is None and st.button("Reveal the answer", type="primary", key=f"lesson_reveal_{step.key}",
                              disabled=bool(st.session_state.get(shown)),
                              help="Runs the computation on the real networks and shows what it says."):
    st.session_state[shown] = True
if seat is not None and seat.teacher:
    st.button("Reveal the answer to the class", type="primary", key=f"lesson_reveal_{step.key}",
              disabled=revealed_in_room, on_click=reveal_in_room, args=(seat, k, shown),
              help="Closes the votes of this step, freezes the tally and shows the answer on every screen.")
answer = None
if st.session_state.get(shown) or revealed_in_room:
    with ui.guard(f"compute step {k}"), st.spinner(f"Computing: {L.REVEALS[step.key].__doc__.splitlines()[0]}"):
        r = reveal(step.key, setting)
        answer = r.answer
        if student:
            st.markdown(f"You predicted “{guess}”." if guess else "You did not predict this step.")
        said = L.verdict(guess, r)
        st.markdown(f"**{said}** {r.takeaway}" if said else r.takeaway)
        ui.show_chart(lesson_charts.chart(step.key, r))
        st.caption(step.why)
        st.page_link(f"pages/{step.page}.py", label="Open the full page with these settings", icon=":material/open_in_new:",
                     query_params=L.query(step, setting))
        ui.csv_download(L.as_table(r), f"lesson_step{k}_{step.key}", "The step's numbers (CSV)")
        if seat is not None:  # the class's split beside one's own prediction, in the page's report
            report.add(("table", room_ui.class_table(seat, k, choices, guess), f"The class's predictions, step {k}"))
if seat is not None and seat.teacher:
    with tally_slot:
        room_ui.tally(seat, k, choices, answer)
if not student:
    back, ahead = st.columns(2)
    back.button("Back", key="lesson_back", on_click=go, args=(k - 1,), disabled=k == 1, icon=":material/arrow_back:",
                help="The previous step.")
    ahead.button("Next", key="lesson_next", on_click=go, args=(k + 1,), disabled=k == N,
                 icon=":material/arrow_forward:", help="The next step.")
