"""Lesson: steps 0 to N-1, each a question to predict, then the answer computed live: step 0 on a chain of scalar
layers, the others on real networks. Numbered from 0 so that links to steps 1-7 made before step 0 still hold.
Alone, or as a class in a room: the teacher's screen drives the students', who each predict before the teacher
reveals. (A room counts its steps from 1: lesson step k is the room's step k + 1.)"""

import streamlit as st

from frame import report, ui
from frame import rooms as room_ui
from viz.charts import lesson as lesson_charts
from viz.measures import chain
from viz.measures import lesson as L

ui.require_frame(__file__)

STEPS, N = L.STEPS, len(L.STEPS)
SCROLL = "_lesson_scroll_to_answer"  # set by a Reveal click: that run scrolls the answer into view
ANSWER_STYLE = """<style>
  .st-key-lesson-answer { border-left: 6px solid #f0b400; background: #fff8e1; padding: 0.4rem 0.8rem;
                          border-radius: 0.3rem; animation: lesson-answer-in 1.2s ease-out; }
  @keyframes lesson-answer-in { from { background: #ffe08a; } to { background: #fff8e1; } }
</style>"""


def scroll_to_answer(nonce: str):
    """The browser scrolls the highlighted answer to the top of the screen (our own script, no input in it: st.html
    runs it once per nonce; it retries until the answer is drawn)."""
    st.html(f"""<script>/* {nonce} */
      let tries = 0;
      const go = () => {{ const a = document.querySelector('.st-key-lesson-answer');
                         if (a) a.scrollIntoView({{block: 'start'}}); else if (tries++ < 40) setTimeout(go, 100); }};
      go();</script>""", unsafe_allow_javascript=True)


@ui.cache_results(max_entries=32)
def reveal(key: str, setting, **extra):
    """A step's computation, shared by every session (a class reveals the same step at once)."""
    return L.REVEALS[key](setting, **extra)


def go(k: int):
    """Back and Next: the step widget (bound to the link) moves to step k."""
    st.session_state.step = str(k)


def reveal_in_room(seat, k: int, shown: str):
    st.session_state[shown] = True
    st.session_state[SCROLL] = True
    room_ui.store().reveal(seat.code, seat.key, k + 1)


def pick_step(seat, student: bool) -> int:
    """The step shown: the teacher's (a student cannot move it), else the link's or the learner's choice."""
    if student:
        k = seat.view.step - 1
        st.query_params.pop("step", None)
        st.segmented_control("Step", [str(i) for i in range(N)], default=str(k), key=f"room_step_{k}",
                             disabled=True, help="The teacher's step: your screen follows it.")
        return k
    with ui.url_bound({"step": f"step (0 to {N - 1})"}):
        # (the options are what a link holds, ?step=3: Streamlit writes a choice's label into the URL)
        return int(st.segmented_control("Step", [str(i) for i in range(N)], default="0", key="step",
                                        bind="query-params", help="Every step has its own link (?step=3): the "
                                        "projector and the students' screens can follow.") or 0)


def pick_setting(step, seat) -> tuple:
    """(the setting the answer is computed for, extra arguments): a class answers for the step's defaults."""
    if seat is not None:
        st.segmented_control(step.setting.capitalize(), list(step.options), default=step.options[0], disabled=True,
                             key=f"room_setting_{step.key}",
                             help=f"In a room, the class answers for {step.setting} {step.options[0]}.")
        return step.options[0], ({"layers": 50} if step.key == "chain" else {})
    # the chain's two controls side by side, so that on a projector its prediction and Reveal stay on the first screen
    here, beside = st.columns([2, 3]) if step.key == "chain" else (st.container(), None)
    with ui.url_bound({f"lesson_{step.key}": step.setting}):
        setting = here.segmented_control(step.setting.capitalize(), list(step.options), default=step.options[0],
                                         key=f"lesson_{step.key}", bind="query-params",
                                         help=f"The {step.setting} the answer is computed for.") or step.options[0]
        extra = {}
        if beside is not None:  # the chain's second control: its length
            extra["layers"] = int(beside.select_slider("Layers L", chain.LAYERS, value=50, key="lesson_chain_layers",
                                                       bind="query-params",
                                                       help="How many scalar layers the chain has."))
    return setting, extra


st.title("Lesson: why the skip works")
seat = room_ui.seat(N)
teacher, student = seat is not None and seat.teacher, seat is not None and not seat.teacher
if teacher:
    room_ui.projector(seat)
k = pick_step(seat, student)
if teacher and k + 1 != seat.view.step:
    seat = room_ui.Seat(room_ui.store().advance(seat.code, seat.key, k + 1), True, seat.key, "", "")
if student:
    room_ui.student_bar(seat)
step = STEPS[k]
st.progress((k + 1) / N, text=f"Step {k} of {N - 1}: {step.title}")
st.markdown(f"### {step.question}")
setting, extra = pick_setting(step, seat)
choices = L.choices(step, setting)
shown = f"lesson_shown_{step.key}_{setting}"
revealed_in_room = seat is not None and k + 1 in seat.view.revealed
if seat is None:
    guess = st.radio("Your prediction", choices, index=None, key=f"lesson_guess_{step.key}_{setting}",
                     help="Choose before you reveal: the answer is computed, not written down.")
elif student:
    guess = room_ui.vote_box(seat, k + 1, choices, revealed_in_room)
else:
    guess, tally_slot = None, st.container()
if seat is None and st.button("Reveal the answer", type="primary", key=f"lesson_reveal_{step.key}",
                              disabled=bool(st.session_state.get(shown)),
                              help="Runs the computation on the real networks and shows what it says."):
    st.session_state[shown] = st.session_state[SCROLL] = True
if teacher:
    st.button("Reveal the answer to the class", type="primary", key=f"lesson_reveal_{step.key}",
              disabled=revealed_in_room, on_click=reveal_in_room, args=(seat, k, shown),
              help="Closes the votes of this step, freezes the tally and shows the answer on every screen.")
answer = None
if st.session_state.get(shown) or revealed_in_room:
    with ui.guard(f"compute step {k}"), st.spinner(f"Computing: {L.REVEALS[step.key].__doc__.splitlines()[0]}"):
        r = reveal(step.key, setting, **extra)
        answer = r.answer
        said = L.verdict(guess, r)
        st.session_state.setdefault("lesson_record", {})[step.key] = L.record(step, setting, guess, r, extra)
        st.html(ANSWER_STYLE)
        with st.container(key="lesson-answer"):  # highlighted; it keeps the step and the prediction in view
            st.markdown(f"**Step {k} of {N - 1}**: {step.title}")
            if not teacher:
                st.markdown(f"You predicted “{guess}”." if guess else "You did not predict this step.")
            st.container(key="finding-lesson").markdown(f"**{said}** {r.takeaway}" if said else r.takeaway)
            ui.show_chart(lesson_charts.chart(step.key, r))
        if st.session_state.pop(SCROLL, False):
            scroll_to_answer(f"{step.key}-{setting}")
        st.caption(step.why)
        if step.page:
            st.page_link(f"pages/{step.page}.py", label="Open the full page with these settings",
                         icon=":material/open_in_new:", query_params=L.query(step, setting))
        ui.csv_download(L.as_table(r), f"lesson_step{k}_{step.key}", "The step's numbers (CSV)")
        if seat is not None:  # the class's split beside one's own prediction, in the page's report
            report.add(("table", room_ui.class_table(seat, k + 1, choices, guess), f"The class's predictions, step {k}"))
if teacher:
    with tally_slot:
        room_ui.tally(seat, k + 1, choices, answer)
if not student:
    back, ahead = st.columns(2)
    back.button("Back", key="lesson_back", on_click=go, args=(k - 1,), disabled=k == 0, icon=":material/arrow_back:",
                shortcut="Left", help="The previous step (or the left arrow key).")
    ahead.button("Next", key="lesson_next", on_click=go, args=(k + 1,), disabled=k == N - 1,
                 icon=":material/arrow_forward:", shortcut="Right", help="The next step (or the right arrow key).")

for i, past in enumerate(STEPS):  # the report: every step this session revealed, in words
    if past.key in st.session_state.get("lesson_record", {}):
        report.add_words(f"Lesson step {i}: {past.title}", st.session_state.lesson_record[past.key])
