"""Recognise records that are exactly those an offer row was computed from, without parsing them.

Nightly, the back-office exports every offer again and almost all are unchanged. A record's
digest covers its bytes, the gateway's code and the `[rules]` settings: with the same digest,
parsing, validation and the rules that need no store would give the very row already stored.
What the store adds (session history and owners, repeated references, kept rejected updates)
can still change between two imports, so a record is recalled only when none of it can apply:

- its row carries no problem that depends on the rest of the store or of the file
  (`STORE_DEPENDENT`): with none, the same record still owns its sessions and keeps its dates;
- its reference has not appeared earlier in the file (the later record would carry the
  repeated-reference warning) and has no rejected update kept beside it (this record replaces it).

Any other record takes the full path, which also stores its digest for the next import. The
duplicate check is not redone for recalled rows: every import rechecks the groups of the rows it
writes, so the warnings of a group no row of which changed are still right.
"""

from __future__ import annotations

import hashlib
import json

from gateway.code_version import code_fingerprint
from gateway.config import RulesSettings
from gateway.problems import Code
from gateway.store.intake_queries import StoredRow

DIGEST_FORMAT = 1

# Problems whose presence means the rest of the store or of the file took part in the row.
STORE_DEPENDENT = tuple(
    f'"{code.value}"'
    for code in (Code.SESSION_REFERENCE_REUSED, Code.SESSION_DATES_CHANGED, Code.FORMATION_REFERENCE_REPEATED)
)


class RecordDigests:
    """Digests of records under one code version and one set of rules (one per import)."""

    def __init__(self, rules: RulesSettings, code: str | None = None) -> None:
        context = json.dumps(
            [DIGEST_FORMAT, code or code_fingerprint(), rules.model_dump(mode="json")], sort_keys=True
        ).encode()
        self._base = hashlib.sha256(context + b"\n")

    def of(self, raw: bytes) -> str:
        sha = self._base.copy()
        sha.update(raw.rstrip(b"\r\n"))  # the end of line is not part of the record
        return sha.hexdigest()


def recallable(row: StoredRow) -> bool:
    """Nothing but the record itself took part in this row."""
    return not any(code in row.state.problems for code in STORE_DEPENDENT)
