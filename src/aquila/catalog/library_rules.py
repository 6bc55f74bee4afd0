"""Release rules in the library service: a nation's providers write its rules, its providers and admins read them.

Rules are namespaced by nation: every id in a request names the caller's own nation's rule, so no
request can touch, or learn anything about, another nation's rules (no existence oracle on create,
read or delete). Within a nation a rule is as visible as the sources it covers (its scope: the
highest source classification and the source caveats, by default the writer's own clearance): a
provider can neither write a rule releasing what it may not read nor see or change one that does
(a create or replace of such an id is refused as forbidden — within its own nation, the one place
a rule id can be learnt). Each write is audited with the rule; derived products record each rule they apply
(`aquila.analytics.findings`), audited for the rule's nation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aquila.catalog.library_base import LibraryBase
from aquila.errors import Conflict, Forbidden, NotFound
from aquila.security.derive import ReleaseRule, parse_release_rule
from aquila.security.labels import Classification, Label
from aquila.security.policy import Decision, Role, User, decide, may_write

__all__ = ["ReleaseRuleService"]


def _describe(rule: ReleaseRule) -> str:
    """A rule in one line, for the audit trail (what it released, from which sources, after how long)."""
    lab = rule.label
    return (f"{rule.product} from {rule.nation} sources up to {rule.source_max_classification.name}"
            f"{' [' + ','.join(sorted(rule.source_caveats)) + ']' if rule.source_caveats else ''}"
            f"{' in ' + ','.join(sorted(rule.source_collections)) if rule.source_collections else ''}"
            f" may carry {lab.classification.name} REL {','.join(sorted(lab.releasable_to)) or '(originator only)'}"
            f"{' [' + ','.join(sorted(lab.caveats)) + ']' if lab.caveats else ''} after {rule.as_json()['delay']}")


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
        """The caller's nation's rules that it is cleared for (providers and admins): a rule covering sources
        above the caller's clearance or caveats is as absent as the sources themselves."""
        self._rule_reader(user, "list release rules", user.nation)
        rules = [r for r in self.store.release_rules([user.nation]) if decide(user, r.scope)]
        self.record(user, "list release rules", user.nation, True, f"{len(rules)} rules of the caller's nation",
                    [self._scope(user)])
        return rules

    def get_release_rule(self, user: User, rule_id: str) -> ReleaseRule:
        obj = f"{user.nation}/{str(rule_id)[:64]}"
        self._rule_reader(user, "read release rule", obj)
        rule = self.store.release_rule(user.nation, rule_id)
        if rule is None or not decide(user, rule.scope):
            raise self.deny(user, "read release rule", obj, "no such rule of the caller's nation (or not cleared)",
                            [self._scope(user)])
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
        rule = parse_release_rule(doc, user.nation, rule_id, user.clearance, user.caveats)
        obj = f"{user.nation}/{rule.id}"
        d = may_write(user, rule.label)
        if d and not decide(user, rule.scope):
            d = Decision(False, "a rule may cover only sources its writer is cleared for: source_max_classification "
                                f"at most {user.clearance.name}, source_caveats among the writer's")
        old = self.store.release_rule(user.nation, rule.id)
        if d and old is not None and not decide(user, old.scope):
            d = Decision(False, "the existing rule of this id covers sources above the writer's clearance")
        if not d:
            raise self.deny(user, action, obj, d.reason, [self._scope(user)], Forbidden(d.reason))
        desc = _describe(rule) + (f"; replacing: {_describe(old)}" if old is not None else "")
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
        rule = self.store.release_rule(user.nation, rule_id)
        if rule is not None and not decide(user, rule.scope):
            raise self.deny(user, "delete release rule", obj, "no such rule of the caller's nation (or not cleared)",
                            [self._scope(user)], NotFound(f"release rule {str(rule_id)[:64]}"))
        was = f"deleted: {_describe(rule)}" if rule is not None else "the caller's nation's rule"
        if not self.store.delete_release_rule(user.nation, rule_id, self.batch(
                [self.decision(user, "delete release rule", obj, True, was, [self._scope(user)])])):
            raise self.deny(user, "delete release rule", obj, "no such rule of the caller's nation",
                            [self._scope(user)], NotFound(f"release rule {str(rule_id)[:64]}"))

    def rules_for(self, nations: Iterable[str]) -> list[ReleaseRule]:
        """The rules of these originators (the instance's own analytics, which audit each one they apply)."""
        return self.store.release_rules(nations)
