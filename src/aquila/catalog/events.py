"""The catalog's events: every write appends them to a durable outbox in its own transaction.

    item.created | item.updated | item.deleted | asset.uploaded | asset.deleted
    collection.created | collection.updated | collection.deleted | collection.retired

An event names the object (collection, item id, asset key) and carries its label and the time, in
commit order (`seq`). A write that rolls back leaves no event; a write that commits has exactly
one per object it changed, even if the process is killed right after. Consumers — subscriptions,
pipelines, a NATS bridge — read with a stored cursor (at-least-once: an event is delivered again
until the consumer acknowledges it), so nothing polls the catalog to learn what changed.

Events carry labels but are not filtered: whoever delivers them to people applies the policy.
A backend provides an `EventLog` (SQLite: `aquila.catalog.backends.sqlite.Outbox`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from aquila.catalog.model import EVENT_KINDS, Event

__all__ = ["Event", "EVENT_KINDS", "EventLog", "EventConsumer"]


class EventConsumer(Protocol):
    """A named reader with a durable cursor: `poll` what is new, `ack` what was handled."""

    name: str

    @property
    def cursor(self) -> int: ...

    def poll(self, limit: int = 1000) -> list[Event]:
        """Events after the stored cursor (again and again until acknowledged)."""
        ...

    def ack(self, seq: int) -> None:
        """Everything up to and including `seq` is handled (the cursor never moves back)."""
        ...

    def wait(self, timeout_s: float) -> None:
        """Until something may have committed since the last `poll` (or the timeout)."""
        ...

    def stream(self, poll_interval_s: float = 0.5) -> AsyncIterator[Event]:
        """Events as they commit; acknowledge each after handling it."""
        ...


class EventLog(Protocol):
    """The read side of a catalog's outbox."""

    def since(self, cursor: int = 0, limit: int = 1000) -> list[Event]:
        """Events after `cursor`, in commit order."""
        ...

    def head(self) -> int:
        """The last committed event's `seq` (0 when none)."""
        ...

    def consumer(self, name: str) -> EventConsumer: ...

    def close(self) -> None: ...
