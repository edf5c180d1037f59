"""Why is an offer in or out of each destination? The export's own decision, run for one offer.

Used by `lheo-gateway offers show` (and later the staff console) so the explanation can never
disagree with what an export would do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.config import GatewayConfig
from gateway.intake.models import FormationStatus
from gateway.mapping.profiles import DestinationProfile, load_profiles
from gateway.pipeline.offer_decision import OfferDecision, Verdict, decide_safely, parse_stored
from gateway.rules.geography import Geography
from gateway.store.approvals import approvals_for
from gateway.store.database import Database
from gateway.store.queries import StoredOffer, session_history
from gateway.store.tables import OfferRow
from gateway.validation.fragment_validator import FragmentValidator


def explain_offer(
    database: Database,
    config: GatewayConfig,
    reference: str,
    geography: Geography | None = None,
    *,
    at: datetime | None = None,
) -> list[tuple[DestinationProfile, OfferDecision]] | None:
    """One decision per destination profile, as an export at `at` (now) would decide; None when unknown."""
    profiles = load_profiles(config.mappings_path, config.export.destinations or None)
    with database.session() as db:
        row = db.get(OfferRow, reference)
        if row is None:
            return None
        stored = StoredOffer(
            row.reference,
            row.payload,
            row.accepted,
            row.problems,
            tuple(row.session_references.split()),
            row.payload_sha256,
        )
        history = session_history(db, stored.session_references)
        approvals = {profile.name: approvals_for(db, profile.name, [reference]) for profile in profiles}
        status = row.bo_status
    validator = FragmentValidator(config.validation.schema_path)
    geography = geography or Geography.bundled()
    offer = parse_stored(stored)
    today = (at or datetime.now(UTC)).astimezone(UTC).date()
    explained = []
    for profile in profiles:
        if status != FormationStatus.VALIDEE.value:
            decision = OfferDecision(
                reference,
                Verdict.OUT_OF_PERIMETER,
                reasons=[f"statut back-office « {status} » : seules les offres validées sont exportées"],
            )
        else:
            decision = decide_safely(
                stored,
                offer,
                profile,
                config.lheo,
                history,
                validator,
                geography,
                today=today,
                rules=config.rules,
                approvals=approvals[profile.name],
            )
        explained.append((profile, decision))
    return explained
