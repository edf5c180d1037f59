"""Rich tables and texts printed by the CLI (plain text when the output is not a terminal)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from gateway.cli.times import when
from gateway.config import GatewayConfig
from gateway.intake.last_valid import rejected_update
from gateway.intake.report import ImportReport, Outcome
from gateway.outbox.relay import DeliveryReport
from gateway.pipeline.explain import explain_offer
from gateway.pipeline.export import DestinationResult
from gateway.pipeline.offer_decision import OfferDecision, Verdict
from gateway.problems import Problem, Severity
from gateway.store.database import Database
from gateway.store.offer_search import OfferQuery, search_offers
from gateway.store.queries import load_problems
from gateway.store.tables import (
    ExportRunRow,
    FeedOfferRow,
    FeedRow,
    ImportRejectionRow,
    OfferRow,
    QuarantineRow,
    RejectedUpdateRow,
    TransmissionRow,
)

OUTCOME_LABELS = {
    Outcome.CREATED: "créée",
    Outcome.UPDATED: "mise à jour",
    Outcome.UNCHANGED: "inchangée",
    Outcome.REJECTED: "rejetée",
    Outcome.REPEATED: "répétée (remplacée plus loin dans le fichier)",  # issue #8
}


def _problem_lines(problems: Sequence[Problem]) -> str:
    return "\n".join(
        f"{'⚠' if p.severity is Severity.WARNING else '✗'} {p.code} {p.path}: {p.message}" for p in problems
    )


def import_summary(console: Console, report: ImportReport) -> None:
    counts = report.counts()
    console.print(
        f"Import de {report.source} : {len(report.results)} enregistrement(s) — "
        + ", ".join(
            f"{OUTCOME_LABELS[o]} {counts.get(o, 0)}" for o in Outcome if o is not Outcome.REPEATED or counts.get(o)
        ),
        highlight=False,
    )


IMPORT_ROWS_SHOWN = 200
KEPT_NOTE = " (dernière version valide conservée et toujours exportée)"


def import_report(console: Console, report: ImportReport) -> None:
    """Rejected records first, then those with warnings, then created/updated ones; capped."""
    table = Table(title=f"Import de {report.source}", show_lines=False)
    table.add_column("ligne", justify="right")
    table.add_column("référence")
    table.add_column("résultat")
    table.add_column("problèmes")
    worth_showing = [r for r in report.results if r.outcome is not Outcome.UNCHANGED or r.problems]
    worth_showing.sort(key=lambda r: (r.outcome is not Outcome.REJECTED, not r.problems, r.line))
    for result in worth_showing[:IMPORT_ROWS_SHOWN]:
        table.add_row(
            str(result.line),
            result.reference or "—",
            OUTCOME_LABELS[result.outcome] + (KEPT_NOTE if result.kept_last_valid else ""),
            _problem_lines(result.problems),
        )
    if table.row_count:
        console.print(table)
    if len(worth_showing) > IMPORT_ROWS_SHOWN:
        console.print(
            f"… et {len(worth_showing) - IMPORT_ROWS_SHOWN} autre(s) ligne(s) : "
            "`lheo-gateway offers list --rejected` ou `offers show RÉFÉRENCE` pour le détail."
        )
    import_summary(console, report)


def offers_table(console: Console, database: Database, query: OfferQuery) -> None:
    with database.session() as db:
        results = search_offers(db, query)
        shown = len(results.lines)
        title = (
            f"Offres ({shown} sur {results.total})"
            if query.page == 1
            else (f"Offres (page {query.page}/{results.pages}, {results.total} en tout)")
        )
        table = Table(title=title)
        for column in ("référence", "statut", "acceptée", "intitulé", "organisme", "ville(s)", "problèmes"):
            table.add_column(column)
        refused = select(RejectedUpdateRow.reference).where(
            RejectedUpdateRow.reference.in_([line.reference for line in results.lines])
        )
        with_refused = set(db.scalars(refused))
        for line in results.lines:
            table.add_row(
                line.reference,
                line.bo_status or "?",
                ("oui" if line.accepted else "non") + (" (màj rejetée)" if line.reference in with_refused else ""),
                (line.title or "")[:70],
                line.organismes[:40],
                line.towns.upper()[:30],
                ", ".join(line.problem_codes),
            )
        rejections = db.scalar(select(func.count()).select_from(ImportRejectionRow)) or 0
    console.print(table)
    if results.total > shown and shown:
        console.print(f"… {results.total - shown} autre(s) : --page {query.page + 1} ou --limit plus grand.")
    if rejections:
        console.print(
            f"{rejections} enregistrement(s) sans référence exploitable conservé(s) à part (import_rejections)."
        )


def offer_detail(console: Console, database: Database, config: GatewayConfig, reference: str) -> bool:
    with database.session() as db:
        row = db.get(OfferRow, reference)
        if row is None:
            return False
        console.print(f"[bold]{row.reference}[/] — {row.title}", highlight=False)
        console.print(
            f"statut back-office : {row.bo_status}    acceptée : {'oui' if row.accepted else 'non'}    "
            f"source : {row.source}    mise à jour : {when(row.updated_at, seconds=True)}",
            highlight=False,
        )
        problems = load_problems(row)
        if problems:
            console.print("[bold]Problèmes[/]")
            console.print(_problem_lines(problems), highlight=False)
        refused = rejected_update(db, reference)
        if refused is not None:
            console.print(
                f"[bold]Mise à jour rejetée[/] reçue le {refused.received_at:%Y-%m-%d %H:%M:%S} ({refused.source}) : "
                "la dernière version valide ci-dessus reste enregistrée et exportée jusqu'à une mise à jour valide.",
                highlight=False,
            )
            console.print(_problem_lines(refused.problems), highlight=False)
        latest_runs = db.execute(
            select(ExportRunRow.destination, func.max(ExportRunRow.id)).group_by(ExportRunRow.destination)
        ).all()
        if latest_runs:
            table = Table(title="Dernier export par destination")
            for column in ("destination", "flux", "présente", "motifs"):
                table.add_column(column)
            for destination, run_id in sorted(latest_runs):
                run = db.get(ExportRunRow, run_id)
                assert run is not None
                present = db.get(FeedOfferRow, (run_id, reference)) is not None
                reasons = db.scalars(
                    select(QuarantineRow).where(
                        QuarantineRow.run_id == run_id, QuarantineRow.formation_reference == reference
                    )
                ).all()
                table.add_row(
                    destination,
                    run.feed_id or "(non émis)",
                    "oui" if present else "non",
                    "\n".join(f"{q.code}: {q.message}" for q in reasons)
                    or ("" if present else "absente (voir ci-dessous)"),
                )
            console.print(table)
    explained = explain_offer(database, config, reference) or []
    table = Table(title="Si l'on exportait maintenant")
    for column in ("destination", "décision", "pourquoi"):
        table.add_column(column)
    for profile, decision in explained:
        label, why = _decision_text(decision, profile.name)
        table.add_row(profile.name, label, why)
    console.print(table)
    with database.session() as db:
        row = db.get(OfferRow, reference)
        assert row is not None
        console.print("[bold]Enregistrement reçu[/]")
        console.print_json(json.dumps(json.loads(row.payload), ensure_ascii=False))
    return True


def _decision_text(decision: OfferDecision, destination: str = "DESTINATION") -> tuple[str, str]:
    label, why = _verdict_text(decision, destination)
    if decision.trace:
        # The perimeter's gates and rules, one line each (issue #8): staff see which rule decided.
        why += "\n[dim]" + "\n".join(f"· {escape(line)}" for line in decision.trace) + "[/]"
    return label, why


def _verdict_text(decision: OfferDecision, destination: str) -> tuple[str, str]:
    if decision.verdict is Verdict.EXPORTED:
        why = "dans le périmètre, valide"
        if decision.problems:
            why += " ; sessions retenues :\n" + _problem_lines(decision.problems)
        return "exportée", why
    if decision.verdict is Verdict.OUT_OF_PERIMETER:
        return "hors périmètre", escape("\n".join(decision.reasons))
    if decision.verdict is Verdict.AWAITING_APPROVAL:
        hint = f"\napprouver : lheo-gateway offers approve {decision.reference} --destination {destination}"
        return "à valider", escape("\n".join(decision.reasons) + hint)
    return "quarantaine", _problem_lines(decision.problems)


def dry_run_explanations(console: Console, results: list[DestinationResult]) -> None:
    for result in results:
        table = Table(title=f"Simulation — {result.label} ({result.destination})")
        for column in ("offre", "décision", "pourquoi"):
            table.add_column(column)
        for decision in result.decisions:
            label, why = _decision_text(decision, result.destination)
            table.add_row(decision.reference, label, why)
        console.print(table)


def export_summary(console: Console, results: list[DestinationResult], *, dry_run: bool) -> None:
    table = Table(title="Export (simulation)" if dry_run else "Export")
    columns = (
        "destination",
        "offres lues",
        "exportées",
        "hors périmètre",
        "à valider",
        "quarantaine",
        "sessions",
        "repris / recalculés",
        "flux",
    )
    for column in columns:
        table.add_column(column, justify="right" if column not in ("destination", "flux") else "left")
    for result in results:
        feed = result.note if result.feed is None else f"{result.feed.path.name} ({result.feed.size:,} o)"
        table.add_row(
            result.destination,
            str(result.considered),
            str(result.exported),
            str(result.out_of_perimeter),
            str(result.awaiting_approval),
            str(result.quarantined),
            f"{result.sessions_exported} (+{result.sessions_held_back} retenues)"
            if result.sessions_held_back
            else str(result.sessions_exported),
            # Decisions and fragments taken from the last export's cache, and those decided again.
            "—" if dry_run else f"{result.reused} / {result.rebuilt}",
            feed,
        )
    console.print(table)
    quarantined = [(r.destination, d) for r in results for d in r.decisions if d.verdict is Verdict.QUARANTINED]
    if quarantined:
        detail = Table(title="Quarantaine (motifs)")
        for column in ("destination", "offre", "motifs"):
            detail.add_column(column)
        for destination, decision in quarantined:
            detail.add_row(destination, decision.reference, _problem_lines(decision.problems))
        console.print(detail)
    held = [
        (r.destination, d)
        for r in results
        for d in r.decisions
        if d.verdict is Verdict.EXPORTED and any(p.session_reference for p in d.problems)
    ]
    if held:
        detail = Table(title="Sessions retenues (offre exportée sans elles)")
        for column in ("destination", "offre", "motifs"):
            detail.add_column(column)
        for destination, decision in held:
            detail.add_row(destination, decision.reference, _problem_lines(decision.problems))
        console.print(detail)


def feeds_table(console: Console, database: Database, *, destination: str | None, limit: int) -> None:
    with database.session() as db:
        query = select(FeedRow).order_by(FeedRow.exported_at.desc(), FeedRow.id.desc()).limit(limit)
        if destination:
            query = query.where(FeedRow.destination == destination)
        table = Table(title="Flux")
        for column in ("id", "destination", "exporté", "offres", "quarantaine", "taille", "gzip", "sha256", "état"):
            table.add_column(column)
        for feed in db.scalars(query):
            table.add_row(
                feed.id,
                feed.destination,
                when(feed.exported_at),
                str(feed.offer_count),
                str(feed.quarantined_count),
                f"{feed.size:,}",
                f"{feed.gz_size:,}",
                feed.sha256[:16],
                "purgé" if feed.purged_at else "présent",
            )
    console.print(table)


def delivery_summary(console: Console, database: Database, report: DeliveryReport) -> None:
    ids = report.sent + report.failed + report.dead
    if not ids:
        console.print("Transmission : rien à envoyer (aucune destination avec transport, ou déjà envoyé).")
        return
    table = Table(title="Transmission")
    for column in ("#", "destination", "flux", "statut", "vers / erreur"):
        table.add_column(column)
    with database.session() as db:
        for row in db.scalars(select(TransmissionRow).where(TransmissionRow.id.in_(ids)).order_by(TransmissionRow.id)):
            where = row.remote if row.status == "sent" else f"{row.last_error_code}: {row.last_error}"
            table.add_row(str(row.id), row.destination, row.feed_id, row.status, where or "")
    console.print(table)
