"""Quarantine page benchmark: the console's quarantine queries on a large store with export history.

    .venv/bin/python -m bench.quarantine_benchmark [--workdir /tmp/lheo-search-bench] [--held 5000] [--runs 30]

Reuses the store of `bench.offer_search_benchmark` (run it first: 100,000 offers), copies it,
and records `--runs` daily export runs for each of 4 destinations in which the same `--held`
offers are quarantined (two findings each, as the export would write them), the rest carried
in the feed of the latest run. Then times the quarantine view as the console builds it (first
page; age filter; one organisme's list), best of 3. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from gateway.store.database import Database
from gateway.store.tables import ExportRunRow, FeedOfferRow, OfferRow, QuarantineRow
from gateway.web.console.quarantine import QuarantineFilter, quarantine_view

DESTINATIONS = ("affelnet", "intercarif", "parcoursup", "pole-emploi")


def _fabricate(database: Database, held: int, runs: int) -> str:
    with database.session() as db, db.begin():
        rows = db.execute(select(OfferRow.reference, OfferRow.sirets).order_by(OfferRow.reference)).all()
        references = [ref for ref, _ in rows]
        quarantined = references[:: max(1, len(references) // held)][:held]
        carried = sorted(set(references) - set(quarantined))
        start = datetime.now(UTC) - timedelta(days=runs)
        for day in range(runs):
            for destination in DESTINATIONS:
                moment = start + timedelta(days=day)
                run = ExportRunRow(
                    destination=destination,
                    started_at=moment,
                    finished_at=moment + timedelta(minutes=2),
                    offers_quarantined=len(quarantined),
                )
                db.add(run)
                db.flush()
                findings = [
                    {
                        "run_id": run.id,
                        "destination": destination,
                        "formation_reference": ref,
                        "session_reference": None,
                        "code": code,
                        "path": path,
                        "message": "Le SIRET de l'organisme responsable est invalide.",
                    }
                    for ref in quarantined
                    for code, path in (("SIRET_CHECKSUM", "responsable.siret"), ("UAI_FORMAT", "sessions[0].place.uai"))
                ]
                db.execute(insert(QuarantineRow), findings)
                if day == runs - 1:
                    db.execute(
                        insert(FeedOfferRow),
                        [
                            {
                                "run_id": run.id,
                                "formation_reference": ref,
                                "fragment_sha256": "0" * 64,
                                "session_count": 3,
                            }
                            for ref in carried
                        ],
                    )
        return next(sirets.split()[0] for ref, sirets in rows if ref == quarantined[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-search-bench"))
    parser.add_argument("--held", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    source = args.workdir / "store.sqlite3"
    if not source.exists():
        parser.error(f"{source} missing: run `python -m bench.offer_search_benchmark` first")
    copy = args.workdir / "quarantine.sqlite3"
    Database(f"sqlite:///{source}").close()  # checkpoints the WAL into the file copied next
    shutil.copyfile(source, copy)
    database = Database(f"sqlite:///{copy}")
    started = time.perf_counter()
    siret = _fabricate(database, args.held, args.runs)
    print(
        f"history: {args.runs} runs x {len(DESTINATIONS)} destinations, {args.held} offers held back "
        f"({time.perf_counter() - started:.1f} s to write)"
    )
    cases = [
        ("first page", QuarantineFilter(), True),
        ("page 20", QuarantineFilter(page=20), True),
        ("held back 7 days or more", QuarantineFilter(min_days=7), True),
        (
            "problem SIRET_CHECKSUM, destination intercarif",
            QuarantineFilter(problem="SIRET_CHECKSUM", destination="intercarif"),
            True,
        ),
        (f"organisme {siret} (CSV / printable)", QuarantineFilter(organisme=siret), False),
    ]
    for label, wanted, paginate in cases:
        best = float("inf")
        for _ in range(3):
            begin = time.perf_counter()
            view = quarantine_view(database, wanted, paginate=paginate)
            best = min(best, time.perf_counter() - begin)
        print(f"{label:<50} {view.total:>6} offers  {best * 1000:8.1f} ms")
    database.close()
    copy.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
