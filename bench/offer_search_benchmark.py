"""Offer search benchmark: the console's and CLI's searches on a store of N synthetic offers.

    .venv/bin/python -m bench.offer_search_benchmark [--offers 100000] [--workdir /tmp/lheo-search-bench]

Generates N offers (bench/synthetic.py) and imports them into a fresh SQLite store (reused
when it already holds N offers), then times each search of a fixed list (first page, count
included) as the console runs it: best of 5. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gateway.config import RulesSettings
from gateway.intake.importer import import_file
from gateway.store.database import Database
from gateway.store.offer_search import OfferQuery, search_offers
from gateway.store.tables import OfferRow

SEARCHES: list[tuple[str, OfferQuery]] = [
    ("no filter, page 1", OfferQuery()),
    ("no filter, page 1000", OfferQuery(page=1000)),
    ("words 'bts commercial'", OfferQuery(words="bts commercial")),
    ("words 'developpeur web limoges'", OfferQuery(words="developpeur web limoges")),
    ("words 'cap' sorted by title", OfferQuery(words="cap", sort="title")),
    ("town 'bordeaux'", OfferQuery(town="bordeaux")),
    ("SIRET prefix '3'", OfferQuery(siret="3")),
    ("problem SIRET_CHECKSUM", OfferQuery(problem="SIRET_CHECKSUM")),
    ("status validee, newest first", OfferQuery(status="validee", sort="updated", descending=True)),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-search-bench"))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite:///{args.workdir / 'store.sqlite3'}")
    with database.session() as db:
        stored = db.query(OfferRow).count()
    if stored != args.offers:
        from bench.synthetic import write_jsonl

        source = args.workdir / "offers.jsonl"
        write_jsonl(source, args.offers)
        started = time.perf_counter()
        import_file(database, source, RulesSettings())
        print(f"import of {args.offers} offers: {time.perf_counter() - started:.1f} s")
    for label, query in SEARCHES:
        best, total = float("inf"), 0
        for _ in range(5):
            with database.session() as db:
                started = time.perf_counter()
                results = search_offers(db, query)
                best = min(best, time.perf_counter() - started)
                total = results.total
        print(f"{label:<34} {total:>7} offers  {best * 1000:7.1f} ms")
    database.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
