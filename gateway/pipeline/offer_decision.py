"""Decide, for one stored offer and one destination, what goes into the feed and why.

This is the per-offer unit of work of an export: perimeter, blocking problems, destination
requirements, session history, mapping, rendering and XSD validation of the fragment. It
depends only on its arguments, so it can run in a worker process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import ValidationError

from gateway.config import LheoSettings, RulesSettings
from gateway.intake.models import Offer
from gateway.lheo.formation import render_formation
from gateway.mapping.formation_view import build_view, requirement_problems
from gateway.mapping.perimeter import perimeter_outcome
from gateway.mapping.perimeter_rules import RuleStatus
from gateway.mapping.profiles import DestinationProfile
from gateway.problems import Code, Problem, Scope, Severity, error
from gateway.rules.geography import Geography
from gateway.rules.offer_checks import formateur_siren_problems
from gateway.rules.store_checks import ExportedSessionDates, session_history_problems
from gateway.store.queries import StoredOffer
from gateway.validation.fragment_validator import ValidatesFragments


class Verdict(StrEnum):
    EXPORTED = "exported"
    OUT_OF_PERIMETER = "out_of_perimeter"
    QUARANTINED = "quarantined"
    AWAITING_APPROVAL = "awaiting_approval"  # status "to_validate": an operator has not approved it yet


@dataclass(frozen=True)
class Approval:
    """An operator's approval of one offer for one destination, valid for that payload only."""

    payload_sha256: str
    approved_by: str
    approved_at: datetime


@dataclass
class OfferDecision:
    reference: str
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)  # why out of perimeter (French)
    problems: list[Problem] = field(default_factory=list)  # why quarantined, or sessions held back
    fragment: bytes = b""
    fragment_sha256: str = ""  # kept when the fragment itself has been handed to the writer
    exported_sessions: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, debut, fin)
    trace: list[str] = field(default_factory=list)  # the perimeter's gates and rules, one French line each
    payload_sha256: str = ""  # what an approval must name (to_validate offers)


def _stored_problems(stored: StoredOffer) -> list[Problem]:
    return [Problem.model_validate(item) for item in json.loads(stored.problems)]


def parse_stored(stored: StoredOffer) -> Offer | None:
    try:
        return Offer.model_validate_json(stored.payload)
    except ValidationError:
        return None


def decide(
    stored: StoredOffer,
    offer: Offer | None,
    profile: DestinationProfile,
    lheo: LheoSettings,
    history: Mapping[str, ExportedSessionDates],
    validator: ValidatesFragments,
    geography: Geography,
    *,
    today: date | None = None,
    rules: RulesSettings | None = None,
    approvals: Mapping[str, Approval] | None = None,
) -> OfferDecision:
    problems = _stored_problems(stored)
    if offer is None:
        # The record never fitted the input format: its problems were stored at import.
        return OfferDecision(stored.reference, Verdict.QUARANTINED, problems=problems)
    outcome = perimeter_outcome(offer, profile, today or datetime.now(UTC).date())
    if outcome.status is RuleStatus.OUT:
        return OfferDecision(stored.reference, Verdict.OUT_OF_PERIMETER, reasons=outcome.reasons, trace=outcome.trace)
    # Session history is re-checked now: another destination may have exported a session since import.
    problems = [p for p in problems if p.code is not Code.SESSION_DATES_CHANGED]
    reported = {(p.code, p.session_reference) for p in problems}
    # A re-used session found at import (SESSION_REFERENCE_REUSED) is not reported twice.
    problems += [p for p in session_history_problems(offer, history) if (p.code, p.session_reference) not in reported]
    if rules is not None:
        # Formateur approvals are read from the configuration of this export, not of the import.
        problems = [p for p in problems if p.code is not Code.FORMATEUR_SIREN_NOT_APPROVED]
        problems += formateur_siren_problems(offer, rules)
    problems += requirement_problems(offer, profile)
    blocking = [p for p in problems if p.blocks_offer]
    if blocking:
        return OfferDecision(stored.reference, Verdict.QUARANTINED, problems=blocking, trace=outcome.trace)
    held = [p for p in problems if p.scope is Scope.SESSION and p.severity is Severity.ERROR]
    view = build_view(offer, profile, {p.session_reference for p in held if p.session_reference})
    if view is None:
        none_left = error(
            Code.SESSION_NONE,
            "sessions",
            "Aucune session de la formation ne peut être transmise à cette destination (voir les "
            "problèmes des sessions).",
        )
        return OfferDecision(stored.reference, Verdict.QUARANTINED, problems=[none_left, *held], trace=outcome.trace)
    rendered = render_formation(view, lheo, geography)
    violations = validator.violations_in(rendered.standalone_bytes())
    if violations:
        return OfferDecision(
            stored.reference,
            Verdict.QUARANTINED,
            problems=[error(Code.XSD_INVALID, v.path, f"{v.french()} [libxml2: {v.message}]") for v in violations],
            trace=outcome.trace,
        )
    if outcome.status is RuleStatus.TO_VALIDATE:
        approval = (approvals or {}).get(stored.reference)
        if approval is None or approval.payload_sha256 != stored.payload_sha256:
            waiting = "en attente de l'approbation d'un opérateur pour cette destination"
            if approval is not None:
                waiting += (
                    f" (l'approbation de {approval.approved_by} du {approval.approved_at:%d/%m/%Y} "
                    "ne vaut plus : l'offre a changé depuis)"
                )
            return OfferDecision(
                stored.reference,
                Verdict.AWAITING_APPROVAL,
                reasons=[*outcome.reasons, waiting],
                problems=held,
                trace=outcome.trace,
                payload_sha256=stored.payload_sha256,
            )
        outcome.trace.append(
            f"approuvée pour cette destination par {approval.approved_by} le {approval.approved_at:%d/%m/%Y %H:%M} UTC"
        )
    fragment = rendered.feed_bytes()
    return OfferDecision(
        stored.reference,
        Verdict.EXPORTED,
        problems=held,
        fragment=fragment,
        fragment_sha256=hashlib.sha256(fragment).hexdigest(),
        trace=outcome.trace,
        payload_sha256=stored.payload_sha256,
        exported_sessions=[
            (session.reference, session.start, session.end) for action in view.actions for session in action.sessions
        ],
    )


def decide_safely(
    stored: StoredOffer,
    offer: Offer | None,
    profile: DestinationProfile,
    lheo: LheoSettings,
    history: Mapping[str, ExportedSessionDates],
    validator: ValidatesFragments,
    geography: Geography,
    *,
    today: date | None = None,
    rules: RulesSettings | None = None,
    approvals: Mapping[str, Approval] | None = None,
) -> OfferDecision:
    """`decide`, but an offer that cannot be rendered is quarantined instead of stopping the export.

    Import refuses the values known to break rendering (issue #9); this guards the feeds of
    every other destination against a stored offer that slipped through (a store written by an
    older version, a value no rule foresaw): one bad record must never stop all feeds.
    """
    try:
        return decide(
            stored, offer, profile, lheo, history, validator, geography, today=today, rules=rules, approvals=approvals
        )
    except (ArithmeticError, ValueError, TypeError, UnicodeError) as exc:
        problem = error(
            Code.RENDER_FAILED,
            "",
            "L'offre n'a pas pu être mise au format LHÉO (une valeur est hors des limites que le flux peut "
            f"porter) ; corrigez-la dans le back-office et réimportez-la. [{exc.__class__.__name__}: {str(exc)[:200]}]",
        )
        return OfferDecision(stored.reference, Verdict.QUARANTINED, problems=[problem])
