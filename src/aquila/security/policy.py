"""The access rule, deny by default: one decision function with a reason.

A user may read an object iff
  clearance >= classification, and
  nation == originator or nation in expand(releasable_to), and
  the object's caveats are a subset of the user's;
and an item only if its collection is readable too (`decide_item`).

A user may write (create, replace, relabel, delete) an object with a label iff they hold the
role for it, the label's originator is their own nation and they could read it themselves
(`may_write`): nobody publishes for another nation, or above their own clearance and caveats.
Catalog queries push the same rules into SQL (`aquila.catalog.backends.sqlite.rule`); property tests check the
two agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from aquila.security.labels import Classification, Label
from aquila.security.nations import expand

__all__ = ["Role", "User", "Decision", "decide", "decide_item", "may_write"]


class Role(str, Enum):
    ANALYST = "analyst"
    PROVIDER = "provider"
    COLLECTION_MANAGER = "collection-manager"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """Who is asking: from a verified token."""

    nation: str
    clearance: Classification
    caveats: frozenset[str] = frozenset()
    roles: frozenset[Role] = frozenset()
    subject: str = ""

    def has(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = field(default="")

    def __bool__(self) -> bool:
        return self.allowed


def decide(user: User, label: Label) -> Decision:
    """Allow or deny reading an object with `label`, saying why."""
    if user.clearance < label.classification:
        return Decision(False, f"clearance {user.clearance.name} is below {label.classification.name}")
    if user.nation != label.originator and user.nation not in expand(label.releasable_to):
        return Decision(False, f"{user.nation} is neither the originator nor in releasable_to")
    missing = label.caveats - user.caveats
    if missing:
        return Decision(False, "missing caveats " + ",".join(sorted(missing)))
    return Decision(True, "clearance, releasability and caveats satisfied")


def decide_item(user: User, item: Label, collection: Label) -> Decision:
    """Reading an item needs its own label and its collection's label to allow it."""
    d = decide(user, collection)
    if not d:
        return Decision(False, "collection: " + d.reason)
    return decide(user, item)


def may_write(user: User, label: Label, role: Role = Role.PROVIDER) -> Decision:
    """Allow or deny publishing (or changing) an object so that it carries `label`."""
    if not user.has(role):
        return Decision(False, f"needs the {role.value} role")
    if label.originator != user.nation:
        return Decision(False, f"a {user.nation} {role.value} may write only with sec:originator = {user.nation}")
    d = decide(user, label)
    if not d:
        return Decision(False, "may not write a label it could not read: " + d.reason)
    return Decision(True, f"{role.value} of the originator, label within its own clearance and caveats")
