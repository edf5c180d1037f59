"""French names for the input paths of problems (`sessions[1].place.uai` → what staff edit).

Staff and organisations work in the back-office form, not in JSON: the quarantine shows where
to fix a problem in their words, with the path kept as a secondary detail.
"""

from __future__ import annotations

import re

SEGMENTS = {
    "reference": "référence formation",
    "status": "statut",
    "title": "intitulé",
    "certifinfo": "code Certifinfo",
    "rncp": "code RNCP",
    "web_links": "liens web",
    "modalities": "modalités d'organisation",
    "apprenticeship_years": "années ouvertes à l'apprentissage",
    "duration_years": "durée du cursus",
    "entry_level": "niveau d'entrée",
    "exit_level": "niveau de sortie",
    "objective": "objectif",
    "expected_results": "résultats attendus",
    "content": "contenu",
    "rhythm": "rythme",
    "alternance_rhythm": "modalités de l'alternance",
    "specific_conditions": "conditions spécifiques",
    "teaching_mode": "modalité d'enseignement",
    "formacode": "Formacode",
    "nsf": "code NSF",
    "rome": "code ROME",
    "responsable": "organisme responsable",
    "formateur": "organisme formateur",
    "contacts": "contact",
    "sessions": "session",
    "place": "lieu de formation",
    "registration_address": "adresse d'inscription",
    "address": "adresse",
    "siret": "SIRET",
    "uai": "UAI",
    "nda": "numéro de déclaration d'activité",
    "name": "nom",
    "legal_name": "raison sociale",
    "lines": "ligne d'adresse",
    "postcode": "code postal",
    "city": "ville",
    "insee": "code INSEE",
    "start": "date de début",
    "end": "date de fin",
    "phone": "téléphone",
    "email": "courriel",
    "web": "site web",
    "recruitment": "état du recrutement",
}
_SEGMENT = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


def field_label(path: str) -> str:
    """`sessions[1].place.uai` → `session 2 › lieu de formation › UAI`; unknown parts stay as they are."""
    if not path:
        return "offre"
    parts = []
    for piece in path.split("."):
        match = _SEGMENT.fullmatch(piece)
        if match is None:
            parts.append(piece)
            continue
        name, index = match.groups()
        label = SEGMENTS.get(name, name)
        parts.append(f"{label} {int(index) + 1}" if index is not None else label)
    return " › ".join(parts)
