"""Does an offer belong to a destination? Returns reasons in French when it does not.

Being out of a perimeter is not a problem with the offer (a CAP is simply not for Parcoursup):
such offers are counted apart from quarantined ones.
"""

from __future__ import annotations

from datetime import date

from gateway.intake.models import Offer, TeachingMode
from gateway.mapping.perimeter_rules import STATUS_LABELS, PerimeterOutcome, RuleStatus
from gateway.mapping.profiles import DestinationProfile, Modality, Perimeter

MODALITY_LABELS = {
    Modality.FORMATION_CONTINUE: "formation continue",
    Modality.CONTRAT_PROFESSIONNALISATION: "contrat de professionnalisation",
    Modality.CONTRAT_APPRENTISSAGE: "contrat d'apprentissage",
}


def outside_perimeter(offer: Offer, perimeter: Perimeter) -> list[str]:
    """Empty when the offer is in the perimeter; otherwise every reason it is out."""
    reasons: list[str] = []
    if perimeter.modalities_any and not any(
        getattr(offer.modalities, modality.value) for modality in perimeter.modalities_any
    ):
        wanted = " ou ".join(MODALITY_LABELS[m] for m in perimeter.modalities_any)
        reasons.append(f"modalité hors périmètre : la destination ne reçoit que les offres en {wanted}")
    if perimeter.exit_levels and offer.exit_level not in perimeter.exit_levels:
        levels = ", ".join(str(level) for level in perimeter.exit_levels)
        found = "non renseigné" if offer.exit_level is None else f"niveau {offer.exit_level}"
        reasons.append(f"niveau de sortie hors périmètre ({found} ; attendu : {levels})")
    if perimeter.entry_levels and offer.entry_level not in perimeter.entry_levels:
        levels = ", ".join(str(level) for level in perimeter.entry_levels)
        found = "non renseigné" if offer.entry_level is None else f"niveau {offer.entry_level}"
        reasons.append(f"niveau d'entrée hors périmètre ({found} ; attendu : {levels})")
    if perimeter.first_year_open and 1 not in offer.apprenticeship_years:
        reasons.append("la 1re année du cursus n'est pas ouverte à l'apprentissage")
    if perimeter.exclude_distance and offer.teaching_mode is TeachingMode.DISTANCE:
        reasons.append("formation 100 % à distance, exclue de cette destination")
    sirets = {offer.responsable.siret, offer.effective_formateur.siret} & set(perimeter.excluded_sirets)
    for siret in sorted(sirets):
        reasons.append(f"SIRET {siret} exclu par les règles de la destination")
    return reasons


def perimeter_outcome(offer: Offer, profile: DestinationProfile, today: date) -> PerimeterOutcome:
    """The offer's status for the destination, every gate and rule consulted in `trace`.

    Basic gates (modalities, levels, excluded SIRETs) first, then the 100 % distance status,
    then the campaign, the certification's validity and the rules by diploma type. All reasons
    are reported at once, so staff fix an offer in one go.
    """
    outcome = PerimeterOutcome()
    for reason in outside_perimeter(offer, profile.perimeter):
        outcome.trace.append(reason + " — exclue")
        outcome.grade(RuleStatus.OUT, reason)
    distance = profile.perimeter.distance
    if distance is not None and offer.teaching_mode is TeachingMode.DISTANCE:
        reason = (
            f"formation 100 % à distance : {STATUS_LABELS[distance]} pour cette destination "
            "(statut, en attente d'arbitrage)"
        )
        outcome.trace.append(reason)
        outcome.grade(distance, reason)
    if profile.campaign is not None or profile.rules:
        outcome.merge(profile.catalogue.evaluate(offer, today))
    return outcome
