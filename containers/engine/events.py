"""Events: the engine's event stream as plain dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from containers.engine.connection import Connection


# Engine events that change nothing a page shows: health-check and terminal execs, attach/resize.
QUIET_ACTIONS = ("exec_create", "exec_start", "exec_die", "exec_detach", "attach", "detach", "resize", "top")
EVENT_TYPES = ("container", "image")


class EventStream:
    """The engine's event stream as plain dicts, from its own connection so close() ends only it.

    Iteration ends (without an error) when the engine goes away or close() is called.
    """

    def __init__(self, engine: Connection, since: str | None = None):
        self._engine = engine
        try:
            self._api = engine.fresh_client(settings.DOCKER_TIMEOUT).api
            self._stream = self._api.events(since=since, filters={"type": list(EVENT_TYPES)}, decode=True)
        except Exception as e:
            raise engine.translate(e, "follow engine events") from e
        self._closed = False

    def __iter__(self):
        try:
            for raw in self._stream:
                event = event_of(raw)
                if event is not None:
                    yield event
        except Exception as e:
            if not self._closed:
                raise self._engine.translate(e, "follow engine events") from e

    def close(self) -> None:
        """Ends the stream, also from another thread blocked reading it."""
        self._closed = True
        try:
            self._stream.close()
        except Exception:
            pass
        self._api.close()


def event_of(raw: dict) -> dict | None:
    """A plain event dict, or None for noise (exec and other actions that change no page)."""
    action = raw.get("Action") or raw.get("status") or ""
    if action.split(":")[0].strip() in QUIET_ACTIONS:
        return None
    actor = raw.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    return {
        "type": raw.get("Type", ""),
        "action": action,
        "id": actor.get("ID", "") or raw.get("id", ""),
        "name": attributes.get("name", ""),
        "image": attributes.get("image", ""),
        "time_nano": int(raw.get("timeNano") or int(raw.get("time", 0)) * 10**9),
    }


def since_of(time_nano: int) -> str:
    """The engine's since= for an event time: inclusive, so that event is sent again."""
    return f"{time_nano // 10**9}.{time_nano % 10**9:09d}"
