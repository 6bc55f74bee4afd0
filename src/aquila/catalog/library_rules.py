"""Release rules in the library service: a nation's providers write its rules, its providers and admins read them.

Rules are namespaced by nation: every id in a request names the caller's own nation's rule, so no
request can touch, or learn anything about, another nation's rules (no existence oracle on create,
read or delete). Each write is audited with the rule; derived products record each rule they apply
(`aquila.analytics.findings`), audited for the rule's nation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aquila.catalog.library_base import LibraryBase
from aquila.errors import Conflict, Forbidden, NotFound
from aquila.security.derive import ReleaseRule, parse_release_rule
from aquila.security.labels import Classification, Label
from aquila.security.policy import Role, User, may_write

__all__ = ["ReleaseRuleService"]


class ReleaseRuleService(LibraryBase):
    """The release-rule part of `aquila.catalog.library.Library`."""

    def _rule_reader(self, user: User, action: str, obj: str) -> None:
        if not (user.has(Role.PROVIDER) or user.has(Role.ADMIN)):
            raise self.deny(user, action, obj, "needs the provider or admin role", (),
                            Forbidden(f"{action} needs the provider or admin role"))

    @staticmethod
    def _scope(user: User) -> Label:
        return Label(Classification.NU, user.nation)

    def release_rules_of(self, user: User) -> list[ReleaseRule]:
        """The caller's nation's rules (providers and admins)."""
        self._rule_reader(user, "list release rules", user.nation)
        rules = self.store.release_rules([user.nation])
        self.record(user, "list release rules", user.nation, True, f"{len(rules)} rules of the caller's nation",
                    [self._scope(user)])
        return rules

    def get_release_rule(self, user: User, rule_id: str) -> ReleaseRule:
        obj = f"{user.nation}/{str(rule_id)[:64]}"
        self._rule_reader(user, "read release rule", obj)
        rule = self.store.release_rule(user.nation, rule_id)
        if rule is None:
            raise self.deny(user, "read release rule", obj, "no such rule of the caller's nation", [self._scope(user)])
        self.record(user, "read release rule", obj, True, "the caller's nation's rule", [self._scope(user)])
        return rule

    def write_release_rule(self, user: User, doc: Any, rule_id: str | None = None) -> tuple[ReleaseRule, bool]:
        """Create (POST: `rule_id` None, 409 if the nation has the id) or create-or-replace (PUT) a rule;
        returns it and whether it is new."""
        action = "create release rule" if rule_id is None else "replace release rule"
        obj = f"{user.nation}/{str(rule_id)[:64]}" if rule_id is not None else user.nation
        if not user.has(Role.PROVIDER):
            raise self.deny(user, action, obj, "needs the provider role", (),
                            Forbidden(f"{action} needs the provider role"))
        rule = parse_release_rule(doc, user.nation, rule_id)
        obj = f"{user.nation}/{rule.id}"
        d = may_write(user, rule.label)
        if not d:
            raise self.deny(user, action, obj, d.reason, [self._scope(user)], Forbidden(d.reason))
        desc = (f"{rule.product} from {rule.nation} sources may carry {rule.label.classification.name} "
                f"REL {','.join(sorted(rule.label.releasable_to)) or '(originator only)'}"
                f"{' [' + ','.join(sorted(rule.label.caveats)) + ']' if rule.label.caveats else ''} "
                f"after {rule.as_json()['delay']}")
        try:
            new = self.store.put_release_rule(rule, create_only=rule_id is None, in_transaction=self.batch(
                [self.decision(user, action, obj, True, desc, [self._scope(user)])]))
        except Conflict as exc:  # only ever the caller's own nation's id
            raise self.deny(user, action, obj, str(exc), [self._scope(user)], exc) from None
        return rule, new

    def delete_release_rule(self, user: User, rule_id: str) -> None:
        obj = f"{user.nation}/{str(rule_id)[:64]}"
        if not user.has(Role.PROVIDER):
            raise self.deny(user, "delete release rule", obj, "needs the provider role", (),
                            Forbidden("delete release rule needs the provider role"))
        if not self.store.delete_release_rule(user.nation, rule_id, self.batch(
                [self.decision(user, "delete release rule", obj, True, "the caller's nation's rule",
                               [self._scope(user)])])):
            raise self.deny(user, "delete release rule", obj, "no such rule of the caller's nation",
                            [self._scope(user)], NotFound(f"release rule {str(rule_id)[:64]}"))

    def rules_for(self, nations: Iterable[str]) -> list[ReleaseRule]:
        """The rules of these originators (the instance's own analytics, which audit each one they apply)."""
        return self.store.release_rules(nations)
