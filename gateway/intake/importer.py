"""Import an offers file into the store: upsert by formation reference, idempotently.

Every record ends up somewhere: an offer row (accepted or not, with its problems) or, when it
cannot even be tied to a formation reference, an import rejection row. The whole file is one
transaction, so a file that turns out to be malformed halfway changes nothing.

File-wide rules (issue #8), so that importing the same file twice gives the same result from
the first time:
- a formation reference repeated in the file: the **last** record wins (it is the latest state
  the back-office exported); earlier ones are reported `repeated` and the winner carries a
  FORMATION_REFERENCE_REPEATED warning naming their lines; created / updated is judged
  against the store as it was before the file;
- a session reference belongs to the first formation that declared it (store or file);
- duplicates are computed once the whole file is in, over the store as it now stands, and
  both look-alikes get the warning: the result does not depend on record order or on which
  offers were stored before.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from gateway.config import RulesSettings
from gateway.intake.batches import PARALLEL_BYTES, Recalled, RecordBatches
from gateway.intake.last_valid import accepted_references, held_row, rejected_digests, save_rejected
from gateway.intake.prepare import Prepared
from gateway.intake.reader import looks_like_json_lines, read_entries
from gateway.intake.recall import RecordDigests
from gateway.intake.report import ImportReport, Outcome, RecordResult, StoredProblems
from gateway.problems import Code, Problem, warning
from gateway.rules.store_checks import (
    duplicate_warning,
    session_history_problems,
    session_owner_problems,
    spans_overlap,
)
from gateway.store.bulk import insert_rows, larger_page_cache, update_rows
from gateway.store.database import Database
from gateway.store.fts import SearchIndexWrites, defer_search_index
from gateway.store.intake_queries import (
    StoredState,
    duplicate_groups,
    owned_sessions,
    session_owners,
    stored_states,
)
from gateway.store.queries import dump_problems, session_history
from gateway.store.search_fields import problem_codes_column
from gateway.store.tables import ImportRejectionRow, OfferRow, SessionOwnerRow
from gateway.worker_pool import cores

BATCH_SIZE = 500
_OFFERS = cast(Table, OfferRow.__table__)
_OWNERS = cast(Table, SessionOwnerRow.__table__)


@dataclass
class _FileState:
    """What the import remembers across batches of one file."""

    source: str
    now: datetime
    # The store before the file, for each reference met (None: not stored).
    before: dict[str, StoredState | None] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)  # lines of each reference, in order
    written: set[str] = field(default_factory=set)  # references with a row (before or from this file)
    final: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # digest, problems, accepted
    keys: set[str] = field(default_factory=set)  # duplicate keys to recompute at the end
    # line, reference, outcome when already known, problems, kept its last valid version
    pending: list[tuple[int, str | None, Outcome | None, list[Problem], bool]] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)  # references whose stored version is valid
    kept: dict[str, tuple[str, str]] = field(default_factory=dict)  # rejected updates kept: digest, problems
    recalled: set[str] = field(default_factory=set)  # rows left as they are, their record recognised
    rewritten: set[str] = field(default_factory=set)  # stored rows this file has updated so far


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A file's records allocate millions of short-lived objects: with the default thresholds the
    cyclic collector ran ~25 % of the import walking the same survivors again and again. Objects
    that exist before the import are set aside (freeze) and young ones collected less often."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 50_000), thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def import_file(
    database: Database,
    path: Path,
    rules: RulesSettings,
    *,
    now: datetime | None = None,
    recall: bool = True,
    workers: int = 0,
) -> ImportReport:
    """Import every record of `path` in one transaction, working by batches of store look-ups.

    `recall=False` parses every record, even those recognised unchanged (gateway.intake.recall);
    `workers`: processes preparing records (0: one per core for files of more than a few MB).
    """
    state = _FileState(str(path), now or datetime.now(UTC))
    source = RecordBatches(path, rules, RecordDigests(rules), recall=recall, workers=workers or _auto_workers(path))
    with _fewer_collections(), source, database.session() as db, db.begin():
        with larger_page_cache(db.connection()), defer_search_index(db.connection()) as search:
            for records in source.batches(db, read_entries(path), state.lines, size=BATCH_SIZE):
                _import_batch(db, records, state, search)
        _recheck_duplicates(db, state)
    return _report(state)


def _auto_workers(path: Path) -> int:
    try:
        large = path.stat().st_size >= PARALLEL_BYTES and looks_like_json_lines(path)
    except OSError:
        large = False  # read_entries names the problem
    return cores() if large else 1


def _recall(item: Recalled, state: _FileState) -> None:
    """The row stays as it is: it counts as stored before the file, and unchanged."""
    reference, stored = item.reference, item.row.state
    state.before[reference] = stored
    state.written.add(reference)
    state.lines.setdefault(reference, []).append(item.line)
    (state.valid.add if item.row.accepted else state.valid.discard)(reference)
    state.final[reference] = (stored.payload_sha256, stored.problems, item.row.accepted)
    state.pending.append((item.line, reference, None, [], False))
    state.recalled.add(reference)


def _import_batch(
    db: Session, records: list[Prepared | Recalled], state: _FileState, search: SearchIndexWrites
) -> None:
    if not records:
        return
    batch = [item for item in records if isinstance(item, Prepared)]
    offers = [item.offer for item in batch if item.offer is not None]  # their sessions
    new_refs = [item.reference for item in batch if item.reference and item.reference not in state.before]
    stored = stored_states(db, new_refs)
    state.valid.update(accepted_references(db, new_refs))  # stored versions a rejected update must not replace
    state.kept.update(rejected_digests(db, new_refs))
    held_updates: dict[str, dict[str, Any]] = {}
    cleared: set[str] = set()
    for reference in new_refs:
        state.before[reference] = stored.get(reference)
        if reference in stored:
            state.written.add(reference)
            if stored[reference].duplicate_key:
                state.keys.add(stored[reference].duplicate_key or "")
    session_refs = [s.reference for offer in offers for s in offer.sessions]
    history = session_history(db, session_refs)
    owners, exported = session_owners(db, session_refs)
    held = owned_sessions(db, {offer.reference for offer in offers})
    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    claims: dict[str, str] = {}  # session reference → formation claiming it in this batch
    released: list[str] = []
    rejections: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []  # unchanged rows computed from another record (or before 0009)
    for item in records:
        if isinstance(item, Recalled):
            _recall(item, state)
            continue
        problems = list(item.problems)
        if item.offer is not None:
            problems += session_history_problems(item.offer, history)
            reused = session_owner_problems(item.offer, owners, exported)
            # One problem per session: the history's own wording wins when both apply.
            seen = {(p.code, p.session_reference) for p in problems}
            problems += [p for p in reused if (p.code, p.session_reference) not in seen]
            declared = {s.reference for s in item.offer.sessions}
            mine = held.setdefault(item.offer.reference, set())
            for reference in sorted(r for r in declared if r not in owners and r not in exported):
                owners[reference] = item.offer.reference  # later records of the file see the claim
                claims[reference] = item.offer.reference
                mine.add(reference)
            # Sessions this formation no longer declares are free again (unless exported: history keeps them).
            for reference in sorted(r for r in mine if r not in declared and r not in exported):
                if owners.get(reference, item.offer.reference) == item.offer.reference:
                    owners.pop(reference, None)
                    mine.discard(reference)
                    if claims.pop(reference, None) is None:
                        released.append(reference)
        if item.reference is None:
            rejections.append(
                {
                    "source": state.source,
                    "line": item.line,
                    "raw": item.payload,
                    "problems": dump_problems(problems),
                    "rejected_at": state.now,
                }
            )
            state.pending.append((item.line, None, Outcome.REJECTED, problems, False))
            continue
        earlier = state.lines.setdefault(item.reference, [])
        if earlier:
            problems.append(_repeated_warning(item.reference, earlier, item.line))
        earlier.append(item.line)
        row = _row_values(item, problems, state.source, state.now)
        if item.offer is not None:
            state.keys.add(row["duplicate_key"])
        if not row["accepted"] and item.reference in state.valid:
            # Keep the last valid version (still exported); the refused update waits beside it.
            digest = (row["payload_sha256"], row["problems"])
            if state.kept.get(item.reference) != digest:
                held_updates[item.reference] = held_row(row, state.now)
                cleared.discard(item.reference)
                state.kept[item.reference] = digest
            state.pending.append((item.line, item.reference, Outcome.REJECTED, problems, True))
            continue
        if item.reference in state.kept:  # replaced by this record: the kept rejected update is obsolete
            cleared.add(item.reference)
            held_updates.pop(item.reference, None)
            del state.kept[item.reference]
        if row["accepted"]:
            state.valid.add(item.reference)
        else:
            state.valid.discard(item.reference)
        before = state.before.get(item.reference)
        # (Not when an earlier record of the file rewrote the row: this one must be written back.)
        rewritten = item.reference in updates or item.reference in state.rewritten
        if before is not None and not rewritten and _same_as_stored(before, row):
            # Unchanged record: the row stays as it is (its duplicate warnings are rechecked at the end).
            state.final[item.reference] = (before.payload_sha256, before.problems, row["accepted"])
            state.pending.append((item.line, item.reference, None, problems, False))
            if item.digest != before.intake_digest:
                digests.append({"reference": item.reference, "intake_digest": item.digest})
            continue
        if item.reference in state.written:
            inserts.pop(item.reference, None)
            updates[item.reference] = row
        elif item.reference in inserts:  # repeated within the batch: the later record wins
            inserts[item.reference] = row | {"first_imported_at": state.now}
        else:
            inserts[item.reference] = row | {"first_imported_at": state.now}
        state.final[item.reference] = (row["payload_sha256"], row["problems"], row["accepted"])
        state.pending.append((item.line, item.reference, None, problems, False))
    # Driver-level statements (gateway.store.bulk): SQLAlchemy's per-row work cost more than the rows.
    if released:
        db.execute(delete(SessionOwnerRow).where(SessionOwnerRow.session_reference.in_(released)))
    if claims:
        insert_rows(
            db,
            _OWNERS,
            [
                {"session_reference": session, "formation_reference": formation, "claimed_at": state.now}
                for session, formation in claims.items()
            ],
        )
    if inserts:
        insert_rows(db, _OFFERS, list(inserts.values()))
        search.add(inserts)
        state.written.update(inserts)
    if updates:
        search.forget(updates)
        update_rows(db, _OFFERS, "reference", [row | {"reference": ref} for ref, row in updates.items()])
        search.add(updates)
        state.rewritten.update(updates)
    if rejections:
        db.execute(insert(ImportRejectionRow), rejections)
    if digests:  # the next import of the same record recalls it
        update_rows(db, _OFFERS, "reference", digests)
    if held_updates or cleared:
        save_rejected(db, held_updates, cleared)


def _same_as_stored(before: StoredState, row: dict[str, Any]) -> bool:
    """Same payload and same problems, leaving aside the duplicate warnings recomputed at the end."""
    problems: str = row["problems"]
    if before.payload_sha256 != row["payload_sha256"]:
        return False
    if '"DUPLICATE_SUSPECTED"' in before.problems:
        return _without_duplicate_warning(before.problems) == problems
    return before.problems == problems


def _without_duplicate_warning(problems: str) -> str:
    # Plain JSON, not Problem models: this runs for every stored look-alike of a large import.
    # Same encoding as `dump_problems`, so the texts compare equal when the problems do.
    kept = [item for item in json.loads(problems) if item.get("code") != Code.DUPLICATE_SUSPECTED.value]
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def _repeated_warning(reference: str, earlier: list[int], line: int) -> Problem:
    where = ", ".join(map(str, earlier))
    return warning(
        Code.FORMATION_REFERENCE_REPEATED,
        "reference",
        f"La référence formation {reference} apparaît plusieurs fois dans le fichier (ligne(s) {where} puis "
        f"{line}) : seul le dernier enregistrement, ligne {line}, est retenu.",
    )


def _problems_update(reference: str, problems: str) -> dict[str, Any]:
    # The searchable problem codes follow the problems (the console filters on them).
    codes = [item["code"] for item in json.loads(problems)]
    return {"reference": reference, "problems": problems, "problem_codes": problem_codes_column(codes)}


def _recheck_duplicates(db: Session, state: _FileState) -> None:
    """Flag look-alikes over the store as it stands with the whole file in: symmetric, order-free."""
    changed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for group in duplicate_groups(db, state.keys):
        for offer in group:
            seen.add(offer.reference)
            matches = [
                other.reference
                for other in group
                if other.reference != offer.reference and spans_overlap(offer.spans, other.spans)
            ]
            found = duplicate_warning(offer.certifinfo, matches)
            flagged = '"DUPLICATE_SUSPECTED"' in offer.problems
            problems = _without_duplicate_warning(offer.problems) if flagged else offer.problems
            if found is not None:
                problems = problems[:-1] + (", " if problems != "[]" else "") + dump_problems([found])[1:]
            if problems != offer.problems:
                changed.append(_problems_update(offer.reference, problems))
                if len(changed) >= BATCH_SIZE:  # written as we go: memory stays bounded
                    update_rows(db, _OFFERS, "reference", changed)
                    changed = []
            if offer.reference in state.final:
                digest, _, accepted = state.final[offer.reference]
                state.final[offer.reference] = (digest, problems, accepted)
    # Offers of the file that are not live (archived, deleted) are compared with nobody.
    # (Recalled rows are left out: their warnings were right when written, and no look-alike changed.)
    for reference, (digest, stored, accepted) in list(state.final.items()):
        if reference in seen or reference in state.recalled or '"DUPLICATE_SUSPECTED"' not in stored:
            continue
        cleared = _without_duplicate_warning(stored)
        state.final[reference] = (digest, cleared, accepted)
        changed.append(_problems_update(reference, cleared))
    if changed:
        update_rows(db, _OFFERS, "reference", changed)


def _report(state: _FileState) -> ImportReport:
    report = ImportReport(source=state.source)
    # The record that wins a repeated reference: the last one written (a rejected update kept
    # beside a valid version is not written, so it does not make the earlier record "repeated").
    last_line = {reference: line for line, reference, outcome, _, _ in state.pending if reference and outcome is None}
    for line, reference, outcome, problems, kept in state.pending:
        if reference is None:
            report.results.append(RecordResult(line, None, outcome or Outcome.REJECTED, problems))
            continue
        if outcome is not None:
            report.results.append(RecordResult(line, reference, outcome, problems, kept))
            continue
        if line != last_line[reference]:
            report.results.append(RecordResult(line, reference, Outcome.REPEATED, problems))
            continue
        digest, stored_problems, accepted = state.final[reference]
        before = state.before.get(reference)
        if before is None:
            outcome = Outcome.CREATED
        elif (before.payload_sha256, before.problems) == (digest, stored_problems):
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED
        final_problems = StoredProblems(stored_problems)
        report.results.append(RecordResult(line, reference, outcome if accepted else Outcome.REJECTED, final_problems))
    return report


def _row_values(item: Prepared, problems: list[Problem], source: str, now: datetime) -> dict[str, Any]:
    return {
        "reference": item.reference,
        **item.columns,
        "accepted": item.offer is not None and not any(p.blocks_offer for p in problems),
        "problems": dump_problems(problems),
        "problem_codes": problem_codes_column(p.code.value for p in problems),
        "source": f"{source}:{item.line}",
        "updated_at": now,
        "intake_digest": item.digest,
    }
