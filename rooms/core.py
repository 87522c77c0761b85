"""The rules of a room, the same over every store: who may do what, when, how often.

A room has a code students type (CODE_LENGTH characters from an alphabet without look-alikes, drawn with `secrets`)
and a teacher key (a separate secret; the store keeps only its SHA-256). The teacher moves the current step, reveals
steps and closes the room; students vote once per (session, step), changing their vote until that step is revealed.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: a code read off a projector is typed right
CODE_LENGTH = 8  # 31^8 ~ 8.5e11 codes (~40 bits), with lookups rate-limited per session
ROOM_HOURS = 3.0  # a room expires this long after it opened
VOTES_PER_MINUTE = 20  # per session and room: changing one's mind is fine, flooding the tally is not
LOOKUPS_PER_MINUTE = 30  # codes tried per session: guessing codes is hopeless
PRESENT_S = 60.0  # a student counts as present if their screen reported within this many seconds


class RoomError(Exception):
    """A refusal, with one sentence a person can read (str(error))."""


@dataclass(frozen=True)
class RoomView:
    """What anyone in the room may see: never the teacher key."""

    code: str
    step: int  # the teacher's current step, 1-based
    steps: int  # how many steps the lesson has
    revealed: frozenset  # steps the teacher has revealed
    expires: float  # epoch seconds
    closed: bool


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a student typed, as a code: upper case, without spaces or dashes."""
    return "".join(c for c in (text or "").upper() if c not in " -\t")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def format_code(code: str) -> str:
    """The code as shown on the projector: two groups of four (ABCD-EFGH); typed with or without the dash."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


class Rooms:
    """The rooms in one store. `clock` returns epoch seconds (tests move it to expire a room)."""

    def __init__(self, store, clock=time.time, votes_per_minute: int = VOTES_PER_MINUTE):
        self.store, self.clock, self.votes_per_minute = store, clock, votes_per_minute

    def open(self, steps: int, hours: float = ROOM_HOURS) -> tuple[str, str]:
        """A new room for a lesson of `steps` steps, at step 1: (code, teacher key)."""
        now = self.clock()
        code, key = new_code(), secrets.token_urlsafe(18)
        self.store.create(code, key_hash(key), steps, now, now + hours * 3600)
        return code, key

    def view(self, code: str, session: str | None = None) -> RoomView:
        """The room as anyone may see it; refuses unknown, malformed, expired and closed rooms in one sentence.
        With a session, wrong codes are rate-limited (LOOKUPS_PER_MINUTE) so codes cannot be guessed in bulk; a seated
        student's screen, which looks its room up at every poll, is never slowed by it."""
        code = normalize_code(code)
        malformed = len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code)
        row = None if malformed else self.store.room(code)
        if row is None and session is not None:
            self._limit(f"look:{session}", LOOKUPS_PER_MINUTE, "codes tried")
        if malformed:
            raise RoomError(f"“{code[:20]}” is not a room code: a code has {CODE_LENGTH} letters and digits, "
                            "like ABCD-EFGH, as the teacher's screen shows it.")
        if row is None:
            raise RoomError(f"There is no room {format_code(code)}: check the code on the teacher's screen.")
        view = RoomView(code, row["step"], row["steps"], frozenset(row["revealed"]), row["expires"], row["closed"])
        if view.closed:
            raise RoomError(f"Room {format_code(code)} was closed by the teacher.")
        if self.clock() >= view.expires:
            raise RoomError(f"Room {format_code(code)} has expired (rooms last {ROOM_HOURS:g} hours).")
        return view

    def is_teacher(self, code: str, key: str | None) -> bool:
        row = self.store.room(normalize_code(code))
        return bool(row and key) and hmac.compare_digest(row["key_hash"], key_hash(key))

    def _teacher(self, code: str, key: str | None, what: str) -> RoomView:
        view = self.view(code)
        if not self.is_teacher(view.code, key):
            raise RoomError(f"Only the teacher can {what}: students follow the teacher's screen.")
        return view

    def advance(self, code: str, key: str | None, step: int) -> RoomView:
        """The teacher moves the room to `step` (1-based)."""
        view = self._teacher(code, key, "change the step")
        if not 1 <= step <= view.steps:
            raise RoomError(f"There is no step {step}: the lesson has steps 1 to {view.steps}.")
        self.store.set_step(view.code, step)
        return self.view(view.code)

    def reveal(self, code: str, key: str | None, step: int) -> RoomView:
        """The teacher reveals a step's answer: its votes can no longer change, its tally freezes."""
        view = self._teacher(code, key, "reveal the answer")
        self.store.add_reveal(view.code, step)
        return self.view(view.code)

    def close(self, code: str, key: str | None):
        """The teacher ends the room: every later request gets a sentence saying it was closed."""
        view = self._teacher(code, key, "close the room")
        self.store.set_closed(view.code)

    def join(self, code: str, session: str, nickname: str = "") -> RoomView:
        """A student's screen reports in (on joining and every so often): counted as present for PRESENT_S."""
        view = self.view(code, session)
        self.store.seen(view.code, session, (nickname or "").strip()[:24], self.clock())
        return view

    def vote(self, code: str, session: str, step: int, choice: str, choices=None):
        """A student's prediction for a step; a second vote replaces the first until the step is revealed."""
        view = self.view(code)
        if step != view.step:
            raise RoomError(f"The room is at step {view.step}, not step {step}: votes go to the teacher's step.")
        if choices is not None and choice not in choices:
            raise RoomError(f"“{choice}” is not one of this step's choices.")
        self._limit(f"vote:{view.code}:{session}", self.votes_per_minute, "votes")
        if step in view.revealed or not self.store.vote(view.code, session, step, choice, self.clock()):
            raise RoomError(f"Step {step} is revealed: its votes are final.")

    def _limit(self, name: str, per_minute: int, what: str):
        if self.store.hit(name, int(self.clock() // 60)) > per_minute:
            raise RoomError(f"Too many {what} from this screen: at most {per_minute} a minute; wait a moment.")

    def my_vote(self, code: str, session: str, step: int) -> str | None:
        return self.store.votes(normalize_code(code), step).get(session)

    def tally(self, code: str, step: int, choices) -> dict:
        """{choice: number of students} for a step, every choice listed (zeros too), in the choices' order."""
        counts = dict.fromkeys(choices, 0)
        for c in self.store.votes(normalize_code(code), step).values():
            if c in counts:
                counts[c] += 1
        return counts

    def present(self, code: str) -> int:
        """How many students' screens reported within the last PRESENT_S seconds."""
        return self.store.present(normalize_code(code), self.clock() - PRESENT_S)
