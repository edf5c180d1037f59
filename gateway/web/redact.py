"""Keep tokens out of every log: the partner fetch log and the HTTP server's access log.

Tokens are accepted only in the `Authorization` header, but a partner may still put one in
the URL (`?access_token=lheo_…`, or a path segment): such a request is refused, and the URL
it used must not carry the secret into a log. Query values are kept only for the API's and
console's own parameters; any other value, and anything shaped like a token, is masked.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

# Parameters of the API and the console whose values are worth keeping in a log.
SAFE_PARAMETERS = frozenset({"limit", "cursor", "against", "status", "destination", "since", "next", "page"})
MASK = "***"
_TOKEN = re.compile(r"lheo_[A-Za-z0-9_\-]+")


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, value if name in SAFE_PARAMETERS else MASK) for name, value in pairs]
    return _TOKEN.sub("lheo_" + MASK, urlencode(kept, safe="*"))


def redact_target(target: str) -> str:
    """`/path?query` with secrets masked (both in the path and in the query)."""
    path, mark, query = target.partition("?")
    path = _TOKEN.sub("lheo_" + MASK, path)
    return f"{path}?{redact_query(query)}" if mark else path


class RedactAccessLog(logging.Filter):
    """uvicorn's access records are `(client, method, target, http_version, status)`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def install_access_log_filter() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactAccessLog) for existing in logger.filters):
        logger.addFilter(RedactAccessLog())
