"""Dissemination: subscriptions (standing queries), alerts pushed to who may see them, exports."""

from aquila.dissemination.service import Dissemination
from aquila.dissemination.subscriptions import Subscription

__all__ = ["Dissemination", "Subscription"]
