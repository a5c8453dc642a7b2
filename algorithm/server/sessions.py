"""Sessions (one prepared image each), their lesions, each lesion's undo history, and the limits
that keep the server from growing without bound: how many sessions, how long an idle one lives,
how many lesions a session holds, how many steps undo remembers.

Everything here is changed on the event loop's thread only (the endpoints commit what a worker
thread computed), so no lock guards it; ``Session.lock`` serialises the steps on one session.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from algorithm.pipeline import PreparedImage
from algorithm.server.prompting import LesionState


class NotFound(Exception):
    """No such session or lesion (never was, deleted, or expired)."""


class LimitReached(Exception):
    """A session or lesion limit is full."""


class NothingToUndo(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    max_sessions: int = 4
    idle_seconds: float = 1800.0
    max_lesions: int = 32  #: per session
    max_undo: int = 50  #: steps remembered per lesion


class Lesion:
    """A lesion's states, oldest first; the last is the current one. Its id is never reused."""

    def __init__(self, lesion_id: int, name: str | None, empty: LesionState, max_undo: int):
        self.id, self.name = lesion_id, name
        self._empty, self._max_undo = empty, max_undo
        self.history: list[LesionState] = [empty]

    @property
    def current(self) -> LesionState:
        return self.history[-1]

    @property
    def step(self) -> int:
        """How many steps undo can go back."""
        return len(self.history) - 1

    def push(self, state: LesionState) -> None:
        self.history.append(state)
        del self.history[:max(0, len(self.history) - 1 - self._max_undo)]

    def undo(self) -> LesionState:
        if len(self.history) < 2:
            raise NothingToUndo(f"lesion {self.id} has no earlier step to go back to")
        self.history.pop()
        return self.current

    def reset(self) -> LesionState:
        """Back to no clicks and no mask, as a step of its own (undo brings the mask back)."""
        if not self.current.empty:
            self.push(self._empty)
        return self.current


class Session:
    """``empty``: the empty lesion's state, measured once (in a worker thread: measuring even
    an empty whole-image mask takes a while on a large scan)."""

    def __init__(self, source: str, prepared: PreparedImage, empty: LesionState, limits: Limits,
                 now: float):
        self.id = secrets.token_urlsafe(12)
        self.source, self.prepared, self._limits = source, prepared, limits
        self.last_used = now
        self.lock = asyncio.Lock()
        self.lesions: dict[int, Lesion] = {}
        self._next_lesion = 1
        self._empty = empty

    def new_lesion(self, name: str | None) -> Lesion:
        if len(self.lesions) >= self._limits.max_lesions:
            raise LimitReached(f"session {self.id} holds its maximum of "
                               f"{self._limits.max_lesions} lesions; delete one first")
        lesion = Lesion(self._next_lesion, name, self._empty, self._limits.max_undo)
        self.lesions[lesion.id] = lesion
        self._next_lesion += 1
        return lesion

    def lesion(self, lesion_id: int) -> Lesion:
        try:
            return self.lesions[lesion_id]
        except KeyError:
            raise NotFound(f"session {self.id} has no lesion {lesion_id}") from None

    def delete_lesion(self, lesion_id: int) -> None:
        self.lesion(lesion_id)
        del self.lesions[lesion_id]


class SessionStore:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits, self.clock = limits, clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def expire(self) -> list[str]:
        """Drop the sessions idle for longer than the limit; their ids."""
        now = self.clock()
        gone = [sid for sid, s in self._sessions.items()
                if now - s.last_used > self.limits.idle_seconds]
        for sid in gone:
            del self._sessions[sid]
        return gone

    def check_room(self) -> None:
        """Refuse early (before an upload is read) when no session can be added."""
        self.expire()
        if len(self._sessions) >= self.limits.max_sessions:
            raise LimitReached(
                f"the server holds its maximum of {self.limits.max_sessions} sessions; delete "
                f"one (DELETE /sessions/{{id}}) or wait for an idle one to expire "
                f"({self.limits.idle_seconds:g} s)")

    def create(self, source: str, prepared: PreparedImage, empty: LesionState) -> Session:
        self.check_room()
        session = Session(source, prepared, empty, self.limits, self.clock())
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session:
        self.expire()
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r} (never created, deleted, or expired "
                           f"after {self.limits.idle_seconds:g} s idle)")
        session.last_used = self.clock()
        return session

    def delete(self, session_id: str) -> None:
        self.get(session_id)
        del self._sessions[session_id]

    def all(self) -> list[Session]:
        self.expire()
        return list(self._sessions.values())

    def idle_seconds(self, session: Session) -> float:
        return max(0.0, self.clock() - session.last_used)
