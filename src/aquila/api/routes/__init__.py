"""The API's routers, one module per concern; each declares the conformance classes it implements."""

from aquila.api.routes import (
                               alerts,
                               alerts_ws,
                               assets,
                               audit,
                               collections,
                               core,
                               items,
                               outlook,
                               pipelines,
                               release_rules,
                               search,
                               subscriptions,
                               tiles,
                               web,
)

ROUTERS = (core, collections, items, assets, search, audit, release_rules, pipelines, subscriptions, alerts,
           alerts_ws, outlook, tiles, web)
"""In the order `create_app` includes them."""

__all__ = ["ROUTERS"]
