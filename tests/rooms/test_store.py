"""The rules of a room, the same against every store (SQLite, a real Postgres, a real Redis): see conftest.py."""

import threading

import pytest

from rooms import CODE_ALPHABET, CODE_LENGTH, ROOM_HOURS, RoomError, Rooms, normalize_code, open_store

CHOICES = ("a", "b", "c")


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def rooms(store_url, clock):
    return Rooms(open_store(store_url), clock=clock)


@pytest.fixture
def room(rooms):
    return rooms.open(steps=7)


def refused(match: str):
    return pytest.raises(RoomError, match=match)


def test_codes_are_random_typeable_and_the_key_is_separate(rooms):
    opened = [rooms.open(steps=7) for _ in range(20)]
    codes = {c for c, _ in opened}
    assert len(codes) == 20
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert all(len(k) >= 20 and k not in c for c, k in opened)
    code, key = opened[0]
    assert rooms.is_teacher(code, key) and not rooms.is_teacher(code, opened[1][1]) and not rooms.is_teacher(code, "")


def test_a_typed_code_is_forgiving_about_case_spaces_and_the_dash(rooms, room):
    code, _ = room
    typed = f" {code[:4].lower()}-{code[4:]} "
    assert normalize_code(typed) == code
    assert rooms.view(typed).code == code


def test_what_students_see_never_holds_the_key(rooms, room):
    code, key = room
    view = rooms.join(code, "s1")
    assert key not in repr(view) and not any(key in str(v) for v in vars(view).values())
    assert view.step == 1 and view.steps == 7 and not view.revealed and not view.closed


@pytest.mark.parametrize("typed, says", [("", "is not a room code"), ("ABC", "is not a room code"),
                                         ("ABCD-EFG0", "is not a room code"), ("ABCD-EFGH", "There is no room")])
def test_a_wrong_code_gets_one_sentence(rooms, typed, says):
    with refused(says) as e:
        rooms.view(typed)
    assert str(e.value).count(". ") == 0 and str(e.value).endswith(".")


def test_the_teacher_advances_and_reveals(rooms, room):
    code, key = room
    assert rooms.advance(code, key, 3).step == 3
    assert rooms.view(code).step == 3
    assert rooms.reveal(code, key, 3).revealed == {3}
    with refused("no step 8"):
        rooms.advance(code, key, 8)


@pytest.mark.parametrize("key", [None, "", "a-guess", "student"])
def test_a_student_cannot_advance_reveal_or_close(rooms, room, key):
    code, real = room
    for act in (lambda: rooms.advance(code, key, 2), lambda: rooms.reveal(code, key, 1), lambda: rooms.close(code, key)):
        with refused("Only the teacher"):
            act()
    view = rooms.view(code)
    assert view.step == 1 and not view.revealed and not view.closed
    with refused("Only the teacher"):
        rooms.advance(code, real[:-1], 2)


def test_a_second_vote_replaces_the_first_and_never_counts_twice(rooms, room):
    code, _ = room
    rooms.vote(code, "s1", 1, "a")
    rooms.vote(code, "s1", 1, "b")
    rooms.vote(code, "s1", 1, "b")
    rooms.vote(code, "s2", 1, "b")
    assert rooms.tally(code, 1, CHOICES) == {"a": 0, "b": 2, "c": 0}
    assert rooms.my_vote(code, "s1", 1) == "b" and rooms.my_vote(code, "s3", 1) is None


def test_after_the_reveal_votes_are_final_and_the_tally_freezes(rooms, room):
    code, key = room
    rooms.vote(code, "s1", 1, "a")
    rooms.reveal(code, key, 1)
    with refused("revealed"):
        rooms.vote(code, "s1", 1, "b")
    with refused("revealed"):
        rooms.vote(code, "s2", 1, "c")
    assert rooms.tally(code, 1, CHOICES) == {"a": 1, "b": 0, "c": 0}
    assert rooms.store.vote(code, "s2", 1, "c", 0) is False  # the store itself refuses, atomically


def test_votes_go_to_the_teachers_step_and_its_choices(rooms, room):
    code, key = room
    with refused("at step 1, not step 2"):
        rooms.vote(code, "s1", 2, "a")
    with refused("not one of this step's choices"):
        rooms.vote(code, "s1", 1, "z", choices=CHOICES)
    rooms.advance(code, key, 2)
    rooms.vote(code, "s1", 2, "c", choices=CHOICES)
    assert rooms.tally(code, 2, CHOICES)["c"] == 1 and sum(rooms.tally(code, 1, CHOICES).values()) == 0


def test_votes_are_rate_limited_per_session(store_url, clock):
    rooms = Rooms(open_store(store_url), clock=clock, votes_per_minute=5)
    code, _ = rooms.open(steps=7)
    for i in range(5):
        rooms.vote(code, "s1", 1, CHOICES[i % 3])
    with refused("Too many votes"):
        rooms.vote(code, "s1", 1, "a")
    rooms.vote(code, "s2", 1, "a")  # another session is not limited by s1
    assert rooms.tally(code, 1, CHOICES) == {"a": 1, "b": 1, "c": 0}  # s1's refused vote did not land
    clock.now += 60
    rooms.vote(code, "s1", 1, "a")


def test_code_lookups_are_rate_limited(rooms):
    with refused("Too many codes tried"):
        for _ in range(100):
            try:
                rooms.view("ABCD-EFGH", session="guesser")
            except RoomError as e:
                if "Too many" in str(e):
                    raise


def test_a_room_expires(rooms, clock, room):
    code, key = room
    clock.now += ROOM_HOURS * 3600 - 1
    rooms.join(code, "s1")
    clock.now += 2
    for act in (lambda: rooms.join(code, "s1"), lambda: rooms.vote(code, "s1", 1, "a"),
                lambda: rooms.advance(code, key, 2)):
        with refused("has expired"):
            act()


def test_a_closed_room_refuses_everyone(rooms, room):
    code, key = room
    rooms.close(code, key)
    for act in (lambda: rooms.join(code, "s1"), lambda: rooms.vote(code, "s1", 1, "a"),
                lambda: rooms.advance(code, key, 2), lambda: rooms.reveal(code, key, 1)):
        with refused("was closed by the teacher"):
            act()


def test_present_counts_recent_screens_only(rooms, clock, room):
    code, _ = room
    rooms.join(code, "s1", nickname="Ada")
    rooms.join(code, "s2")
    assert rooms.present(code) == 2
    clock.now += 45
    rooms.join(code, "s2")
    clock.now += 30
    assert rooms.present(code) == 1


def test_concurrent_votes_all_land_once(rooms, room):
    code, _ = room
    threads = [threading.Thread(target=lambda i=i: [rooms.vote(code, f"s{i}", 1, CHOICES[(i + j) % 3])
                                                     for j in range(3)]) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = rooms.tally(code, 1, CHOICES)
    assert sum(counts.values()) == 30 and counts == {c: 10 for c in CHOICES}  # each ended on CHOICES[(i + 2) % 3]


def test_an_unknown_store_gets_a_sentence():
    with pytest.raises(ValueError, match="names no store"):
        open_store("mysql://x")
