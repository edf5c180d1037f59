"""Does an offer belong to a destination? Returns reasons in French when it does not.

Being out of a perimeter is not a problem with the offer (a CAP is simply not for Parcoursup):
such offers are counted apart from quarantined ones.
"""

from __future__ import annotations

from gateway.intake.models import Offer, TeachingMode
from gateway.mapping.profiles import Modality, Perimeter

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
    return reasons
