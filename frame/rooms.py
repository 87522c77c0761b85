"""Streamlit glue of a class room on the Lesson page: open or join a room, the projector's join link and QR code,
students' screens following the teacher's step, votes, the live tally. The rules live in rooms/ (no streamlit).

Who is who: the teacher's link holds ?room=CODE&key=KEY (a reload keeps the room; the key never reaches a student's
screen); a student's link holds ?room=CODE&me=TOKEN (a reload keeps their one vote per step). Both are also kept in
the session, so a visit to another page and back to the Lesson returns to the room.
"""

import io
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st

import rooms
from rooms.core import format_code
from viz.charts.rooms import tally_chart

LIVE_S = 1.0  # how often a screen looks at the room: every student follows the teacher within ~2 s (bench/room.py:
# 60 students at 1.5 s had a p95 of 2.5 s from a step to every screen; each poll costs the server ~2 ms of CPU)
TALLY_S = 2.0  # how often the teacher's tally is redrawn
HEARTBEAT_S = 20.0  # how often a student's screen says it is still there (present = reported within 60 s)
_SEAT = "_room_seat"  # {"code", "key", "me", "nickname"} of this session


@dataclass(frozen=True)
class Seat:
    """This session's place in a room: the room as anyone sees it, and whether this session is its teacher."""

    view: rooms.RoomView
    teacher: bool
    key: str  # the teacher key ("" for a student)
    me: str  # the student's token ("" for the teacher)
    nickname: str

    @property
    def code(self) -> str:
        return self.view.code


@st.cache_resource(show_spinner=False)
def _store(url: str) -> rooms.Rooms:
    return rooms.open_rooms(url)


def store() -> rooms.Rooms:
    """The process's rooms, in the store $SKIPLAB_ROOMS names (SQLite in the data folder by default)."""
    return _store(rooms.store_url())


def _remember(**seat):
    """Keep the seat in the session and in the link (the link survives a reload, the session a page switch)."""
    st.session_state[_SEAT] = seat
    want = {"room": seat["code"], **({"key": seat["key"]} if seat["key"] else {"me": seat["me"]})}
    if {k: st.query_params.get(k) for k in ("room", "key", "me") if k in st.query_params} != want:
        for k in ("room", "key", "me"):
            st.query_params.pop(k, None)
        st.query_params.update(want)


def leave():
    st.session_state.pop(_SEAT, None)
    for k in ("room", "key", "me"):
        st.query_params.pop(k, None)


def _from_link() -> dict | None:
    """The seat the link names (a first visit, a reload), else the session's (back from another page)."""
    code = st.query_params.get("room")
    if not code:
        seat = st.session_state.get(_SEAT)
        if seat:
            _remember(**seat)
        return seat
    kept = st.session_state.get(_SEAT) or {}
    me = st.query_params.get("me") or (kept.get("me") if kept.get("code") == code else "") or secrets.token_urlsafe(9)
    return dict(code=code, key=st.query_params.get("key", ""), me=me, nickname=kept.get("nickname", ""))


def seat(steps: int) -> Seat | None:
    """This session's seat in a room, or None (then the page shows the lone lesson and a panel to open or join a
    room). A link to a room that cannot be entered gets one sentence and a way out."""
    try:
        r = store()
    except Exception as e:  # a store that is down or misnamed: the lesson still works alone
        st.warning(f"Class rooms are unavailable here: {e}", icon=":material/meeting_room:")
        return None
    s = _from_link()
    if s is None:
        _open_or_join(r, steps)
        return None
    try:
        view = r.view(s["code"], session=s["me"])
    except rooms.RoomError as e:
        st.error(str(e), icon=":material/meeting_room:")
        st.button("Leave the room", on_click=leave, key="room_leave")
        return None
    teacher = bool(s["key"]) and r.is_teacher(view.code, s["key"])
    if s["key"] and not teacher:
        st.warning("This link's teacher key does not open this room: you are in it as a student.")
        s["key"] = ""
    s["code"] = view.code
    _remember(**s)
    return Seat(view, teacher, s["key"], "" if teacher else s["me"], s["nickname"])


def _open_or_join(r: rooms.Rooms, steps: int):
    with st.expander("Class room: predict together", icon=":material/groups:"):
        st.caption(f"A teacher opens a room; students join with its code and every screen follows the teacher's step. "
                   f"Rooms last {rooms.ROOM_HOURS:g} hours. No name is asked.")
        if st.button("Open a room for the class", key="room_open", icon=":material/co_present:"):
            code, key = r.open(steps)
            _remember(code=code, key=key, me="", nickname="")
            st.rerun()
        with st.form("room_join", border=False):
            typed = st.text_input("Room code", key="room_code", placeholder="ABCD-EFGH", max_chars=20)
            nickname = st.text_input("Nickname (optional, seen only by you)", key="room_nickname", max_chars=24)
            joined = st.form_submit_button("Join the room", icon=":material/login:")
        if joined:
            me = secrets.token_urlsafe(9)
            try:
                view = r.join(typed, me, nickname)
            except rooms.RoomError as e:
                st.error(str(e), icon=":material/meeting_room:")
                return
            _remember(code=view.code, key="", me=me, nickname=nickname.strip())
            st.rerun()


def join_link(code: str) -> str:
    """The link students open: this page's address with ?room=CODE (never the key)."""
    u = urlsplit(st.context.url or "")
    return urlunsplit((u.scheme, u.netloc, u.path, f"room={code}", "")) if u.netloc else f"lesson?room={code}"


@st.cache_data(max_entries=64, show_spinner=False)
def qr_png(link: str) -> bytes:
    """The link's QR code as a PNG, 10 px a module (a 45-module code is 450 px: readable from the back row)."""
    import segno

    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def projector(seat: Seat):
    """The teacher's panel: the code, the join link and its QR code, large; closing the room."""
    link = join_link(seat.code)
    qr, words = st.columns([2, 3], vertical_alignment="center")
    qr.image(qr_png(link), width=360, caption="Scan to join")
    words.markdown(f"## Join room **{format_code(seat.code)}**")
    words.markdown(f"Open [{link}]({link}) or go to the Lesson page and type the code.")
    words.caption("Your own link holds the teacher key: keep the address bar off the projector (full screen, F11). "
                  "Reload it any time; the room stays.")
    if words.button("Close the room", key="room_close", icon=":material/door_front:"):
        store().close(seat.code, seat.key)
        leave()
        st.rerun()


def student_bar(seat: Seat):
    """A student's line about the room, and the poll that moves the screen when the teacher does."""
    who = f" as {seat.nickname}" if seat.nickname else ""
    st.info(f"You are in room {format_code(seat.code)}{who}: your screen follows the teacher's step.",
            icon=":material/groups:")
    st.button("Leave the room", on_click=leave, key="room_leave")
    shown_step, shown_revealed = seat.view.step, seat.view.step in seat.view.revealed

    def poll():
        r = store()
        try:
            view = r.join(seat.code, seat.me, seat.nickname) if _due(HEARTBEAT_S) else _shared_view(seat.code)
        except rooms.RoomError:
            st.rerun()  # closed or expired: the full run says so
        if view.step != shown_step or (shown_step in view.revealed) != shown_revealed:
            st.rerun()

    st.fragment(poll, run_every=LIVE_S)()


@st.cache_data(ttl=0.5, max_entries=256, show_spinner=False)
def _shared_view(code: str) -> rooms.RoomView:
    """The room as every polling student of this process sees it: one store read per room per half second."""
    return store().view(code)


def _due(every: float) -> bool:
    """True once every `every` seconds in this session."""
    last = st.session_state.get("_room_heartbeat", 0.0)
    if time.monotonic() - last < every:
        return False
    st.session_state["_room_heartbeat"] = time.monotonic()
    return True


def vote_box(seat: Seat, step: int, choices: list[str], revealed: bool) -> str | None:
    """A student's prediction for the room's step: one vote, changeable until the reveal. Returns their choice."""
    r, key = store(), f"room_vote_{seat.code}_{step}"
    mine = r.my_vote(seat.code, seat.me, step)
    if key not in st.session_state and mine in choices:
        st.session_state[key] = mine  # after a reload: the vote already in
    st.radio("Your prediction", choices, key=key, index=None, disabled=revealed, on_change=_send,
             args=(seat, step, key, choices), help="Sent as you choose; you can change it until the teacher reveals.")
    if st.session_state.get("_room_refused"):
        st.error(st.session_state.pop("_room_refused"))
    if mine and not revealed:
        st.success(f"Your prediction is in: “{mine}”. You can change it until the teacher reveals the answer.")
    return mine


def _send(seat: Seat, step: int, key: str, choices):
    try:
        store().vote(seat.code, seat.me, step, st.session_state[key], choices=choices)
    except rooms.RoomError as e:
        st.session_state["_room_refused"] = str(e)


def tally(seat: Seat, step: int, choices: list[str], answer: str | None):
    """The teacher's live tally: a bar chart and "n of m answered", every LIVE_S until the reveal freezes it."""
    def draw():
        r = store()
        counts, present = r.tally(seat.code, step, choices), r.present(seat.code)
        fig, caption = _tally_chart(tuple(counts.items()), present, answer)
        st.plotly_chart(fig, width="stretch", config={"displaylogo": False}, key=f"room_tally_{step}")
        st.markdown(f"**{caption.headline}**")

    st.fragment(draw, run_every=None if answer is not None else TALLY_S)()


@st.cache_resource(max_entries=256, show_spinner=False)
def _tally_chart(counts: tuple, present: int, answer: str | None):
    """The tally's figure, built once per split (building a figure costs ~30 ms; the tally polls every second)."""
    return tally_chart(dict(counts), present, answer)


def class_table(seat: Seat, step: int, choices: list[str], mine: str | None) -> pd.DataFrame:
    """The class's final tally beside this student's own prediction (for the report a student downloads)."""
    counts = store().tally(seat.code, step, choices)
    return pd.DataFrame({"prediction": list(counts), "students": list(counts.values()),
                         "yours": ["yes" if c == mine else "" for c in counts]})
