"""Every hard limit in one place: what one request, document or user may cost the instance.

Each bounds an attack or an accident (a deep document, a huge geometry, an endless body, a query
that scans everything). The configurable ones (body and upload sizes, query budget) are defaults of
`aquila.config.Settings`; the rest are part of the contract and documented in the API errors that
name them.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_ASSET_BYTES", "DEFAULT_QUERY_BUDGET_S", "MAX_DEPTH", "MAX_INT",
    "MAX_VERTICES", "MAX_FEATURES", "MAX_LIMIT", "MAX_IDS", "MAX_COLLECTIONS", "MAX_SEARCHES_PER_USER",
    "COUNT_CAP", "MAX_OFFSET", "MAX_FILTER_TEXT", "MAX_FILTER_NESTING", "MAX_FILTER_PARENTHESES",
    "FILTER_PARSE_TIMEOUT_S", "MAX_LIKE_PATTERN", "LIKE_PREFIX_CHARS", "MAX_CAVEATS", "MAX_LABELS_PER_ORIGINATOR",
    "MAX_TOKEN_TTL", "AUDIT_SCAN_PER_PAGE",
]

# --- bodies and documents -----------------------------------------------------------------------
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024  # a JSON request body (AQUILA_MAX_BODY_BYTES)
DEFAULT_MAX_ASSET_BYTES = 1024 * 1024 * 1024  # one asset upload (AQUILA_MAX_ASSET_BYTES)
MAX_DEPTH = 32  # JSON nesting
MAX_INT = 2**53  # largest integer magnitude JSON numbers may carry (exact in every client)
MAX_VERTICES = 10_000  # one geometry (item footprint, search intersects, filter literal)
MAX_FEATURES = 1000  # items in one POST (bulk loads: `aquila ingest`)

# --- search -------------------------------------------------------------------------------------
DEFAULT_QUERY_BUDGET_S = 10.0  # SQL time one search may take before it is refused (narrow it)
MAX_LIMIT = 10_000  # items per page
MAX_IDS = 1000  # ids= in one search
MAX_COLLECTIONS = 100  # collections= in one search
MAX_SEARCHES_PER_USER = 4  # concurrent searches of one token (HTTP 429 beyond)
COUNT_CAP = 10_000  # numberMatched is counted up to this
MAX_OFFSET = 100_000  # deepest page reachable by paging
MAX_FILTER_TEXT = 16 * 1024  # CQL2 text
MAX_FILTER_NESTING = 24  # CQL2 expression tree depth
MAX_FILTER_PARENTHESES = 10  # balanced parentheses in CQL2 text (the parser recurses on them)
FILTER_PARSE_TIMEOUT_S = 2.0
MAX_LIKE_PATTERN = 256  # characters of a LIKE pattern
LIKE_PREFIX_CHARS = 4096  # LIKE sees a value's first characters: its cost is value x pattern, uninterruptible

# --- labels, tokens, audit ----------------------------------------------------------------------
MAX_CAVEATS = 63  # distinct caveats an instance knows (one bit each in the rule's SQL form)
MAX_LABELS_PER_ORIGINATOR = 1000  # distinct item labels one nation may create (partitions are per label)
MAX_TOKEN_TTL = timedelta(days=7)
AUDIT_SCAN_PER_PAGE = 20_000  # audit entries scanned for one page of a provider's view
