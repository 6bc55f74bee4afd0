"""Security: labels, the access policy, tokens and the audit log. Depends on nothing else of Aquila's
except the error tree and limits; the stores of the log and of revocations are a backend's
(`aquila.catalog.backends`), opened by the instance."""

from aquila.security.audit import AuditTrail, Scope, VerifyResult
from aquila.security.labels import Classification, Label, LabelError
from aquila.security.nations import GROUPS, expand
from aquila.security.policy import Decision, Role, User, decide, decide_item, may_write
from aquila.security.tokens import AuthenticationError, TokenIssuer

__all__ = [
    "AuditTrail",
    "AuthenticationError",
    "Classification",
    "Decision",
    "GROUPS",
    "Label",
    "LabelError",
    "Role",
    "Scope",
    "TokenIssuer",
    "User",
    "VerifyResult",
    "decide",
    "decide_item",
    "expand",
    "may_write",
]
