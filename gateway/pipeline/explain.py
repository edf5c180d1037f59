"""Why is an offer in or out of each destination? The export's own decision, run for one offer.

Used by `lheo-gateway offers show` (and later the staff console) so the explanation can never
disagree with what an export would do.
"""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.intake.models import FormationStatus
from gateway.mapping.profiles import DestinationProfile, load_profiles
from gateway.pipeline.offer_decision import OfferDecision, Verdict, decide_safely, parse_stored
from gateway.store.database import Database
from gateway.store.queries import StoredOffer, session_history
from gateway.store.tables import OfferRow
from gateway.validation.fragment_validator import FragmentValidator


def explain_offer(
    database: Database, config: GatewayConfig, reference: str
) -> list[tuple[DestinationProfile, OfferDecision]] | None:
    """One decision per destination profile; None when the offer is unknown."""
    with database.session() as db:
        row = db.get(OfferRow, reference)
        if row is None:
            return None
        stored = StoredOffer(
            row.reference, row.payload, row.accepted, row.problems, tuple(row.session_references.split())
        )
        history = session_history(db, stored.session_references)
        status = row.bo_status
    validator = FragmentValidator(config.validation.schema_path)
    offer = parse_stored(stored)
    explained = []
    for profile in load_profiles(config.mappings_path, config.export.destinations or None):
        if status != FormationStatus.VALIDEE.value:
            decision = OfferDecision(
                reference,
                Verdict.OUT_OF_PERIMETER,
                reasons=[f"statut back-office « {status} » : seules les offres validées sont exportées"],
            )
        else:
            decision = decide_safely(stored, offer, profile, config.lheo, history, validator)
        explained.append((profile, decision))
    return explained
