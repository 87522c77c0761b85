"""Class rooms: a teacher's room code and key, the current step, reveals, students' votes, expiry, rate limits.

No streamlit here (the Lesson page's glue is frame/rooms.py). The store is chosen by $SKIPLAB_ROOMS:
sqlite:///path/rooms.db (the default: rooms.db in the data folder, $SKIPLAB_DATA or ~/.cache/skiplab),
postgresql://user@host:port/db, or redis://host:port/0; replicas of the app share a Postgres or Redis store.
"""

from rooms.core import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ROOM_HOURS,
    VOTES_PER_MINUTE,
    RoomError,
    Rooms,
    RoomView,
    normalize_code,
)
from rooms.stores import open_store, store_url

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "ROOM_HOURS", "VOTES_PER_MINUTE", "RoomError", "Rooms", "RoomView",
           "normalize_code", "open_store", "store_url", "open_rooms"]


def open_rooms(url: str | None = None) -> Rooms:
    """Rooms over the store named by url, else $SKIPLAB_ROOMS, else SQLite in the data folder."""
    return Rooms(open_store(url))
