"""The input format: one offer (a formation and its sessions) as the back-office exports it.

These models check *shape* only (types, required keys, enumerations). Business rules
(checksums, dates, the seed guide's rules) live in `gateway.rules` so that every problem of
an offer is reported at once with a stable code, instead of stopping at the first one.
`lheo-gateway offers schema` publishes the JSON Schema generated from these classes.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


def _fold_status(value: object) -> object:
    """Accept the back-office's accented labels (`validée`) as well as the plain codes."""
    if isinstance(value, str):
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        return plain.strip().lower()
    return value


class FormationStatus(StrEnum):
    BROUILLON = "brouillon"
    PUBLIEE = "publiee"  # published by the organisation, waiting for staff checks
    VALIDEE = "validee"  # checked by staff: the only status that is exported
    ARCHIVEE = "archivee"
    SUPPRIMEE = "supprimee"


class TeachingMode(StrEnum):
    PRESENTIEL = "presentiel"
    MIXTE = "mixte"
    DISTANCE = "distance"


class RecruitmentState(StrEnum):
    OPEN = "ouvert"
    CLOSED = "ferme"
    SUSPENDED = "suspendu"


class RecruitmentPerimeter(StrEnum):
    """LHÉO's dict-perimetre-recrutement: where candidates are recruited from."""

    AUTRE = "autre"  # 0
    COMMUNE = "commune"  # 1
    DEPARTEMENT = "departement"  # 2
    REGION = "region"  # 3
    INTERREGION = "interregion"  # 4
    PAYS = "pays"  # 5
    INTERNATIONAL = "international"  # 6


class ContactRole(StrEnum):
    """Subset of LHÉO's dict-type-contact that the back-office collects."""

    REFERENT_PEDAGOGIQUE = "referent_pedagogique"  # 3
    ACCUEIL = "accueil"  # 4
    REFERENT_ENTREPRISE = "referent_entreprise"  # 7
    REFERENT_APPRENTISSAGE = "referent_apprentissage"  # 14


class _Record(BaseModel):
    # Unknown keys are refused: a misspelt field would otherwise be silently lost.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Modalities(_Record):
    """The three mandatory, cumulative organisation modalities of the seed guide."""

    formation_continue: bool = Field(description="Formation continue (hors alternance)")
    contrat_professionnalisation: bool = Field(description="Contrat de professionnalisation")
    contrat_apprentissage: bool = Field(description="Contrat d'apprentissage")


class Contact(_Record):
    role: ContactRole = ContactRole.REFERENT_APPRENTISSAGE
    civility: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    phone: str | None = None
    email: str | None = None


class Address(_Record):
    """A postal address. `cedex` holds the CEDEX mention (e.g. `CEDEX 03`) when there is one."""

    name: str | None = Field(default=None, description="Dénomination du lieu (bâtiment, site)")
    lines: list[str] = Field(min_length=1, description="Adresse (rue, complément), 1 à 4 lignes")
    postcode: str = Field(description="Code postal (5 chiffres ; code CEDEX si adresse CEDEX)")
    city: str
    cedex: str | None = Field(default=None, description="Mention CEDEX, ex. `CEDEX` ou `CEDEX 03`")
    insee: str | None = Field(default=None, description="Code INSEE de la commune (2A004 en Corse)")
    latitude: str | None = None
    longitude: str | None = None


class Organisation(_Record):
    siret: str
    name: str = Field(description="Nom d'usage de l'organisme")
    legal_name: str | None = Field(default=None, description="Raison sociale (SIRENE)")
    nda: str | None = Field(default=None, description="Numéro de déclaration d'activité (11)")
    uai: str | None = None
    address: Address | None = None
    phone: str | None = None
    email: str | None = None
    web: str | None = None
    # issue #7: the back-office's own id of the organism, when it has one (gives its `numero`).
    id: str | None = Field(
        default=None,
        description="Identifiant de l'organisme dans le back-office (lettres, chiffres, `-`, 1 à 30) ; "
        "absent = numéro dérivé du SIRET",
    )


class Place(Address):
    """Where a session takes place; a place may carry its own UAI/SIRET (site of a CFA)."""

    uai: str | None = None
    siret: str | None = None


class Session(_Record):
    reference: str = Field(description="Référence session, 8 chiffres, stable une fois créée")
    start: str | None = Field(
        default=None,
        description="Début: AAAA-MM-JJ, AAAA-MM, AAAA, AAAAMMJJ ; absent = inconnu (00000000)",
    )
    end: str | None = Field(
        default=None,
        description="Fin: mêmes formes ; absent = inconnue (99999999)",
    )
    place: Place | None = Field(default=None, description="Lieu de formation (absent si 100 % à distance)")
    recruitment: RecruitmentState | None = None
    registration_address: Address | None = Field(
        default=None, description="Adresse d'inscription (par défaut : le lieu, sinon le responsable)"
    )
    # issue #7: a session's own back-office dates; absent = those of the formation.
    created_at: datetime | None = Field(default=None, description="Création de la session dans le back-office")
    updated_at: datetime | None = Field(default=None, description="Dernière modification de la session")


class Hours(_Record):
    """Hours of the course (issue #7): whole numbers; total = centre + entreprise when all three are given."""

    centre: int | None = Field(default=None, ge=0, le=99999, description="Heures en centre de formation")
    company: int | None = Field(default=None, ge=0, le=99999, description="Heures en entreprise")
    total: int | None = Field(default=None, ge=0, le=99999, description="Durée totale en heures")


# --- What the offer prepares (issue #8): the ministries' catalogue decides by diploma type. ---


class DiplomaType(StrEnum):
    """Diploma types of the ministries' apprenticeship catalogue (its perimeter rules name them)."""

    CAP = "CAP"
    CAPA = "CAPA"
    BAC_PRO = "BAC PRO"
    BAC_PRO_AGRICOLE = "BAC PRO AGRICOLE"
    BP = "BP"
    BPA = "BPA"
    BMA = "BMA"
    MC = "MC"  # mention complémentaire
    CS = "CS"  # certificat de spécialisation (agricole)
    BTS = "BTS"
    BTSA = "BTSA"
    BUT = "BUT"
    BM = "BM"  # brevet de maîtrise
    DCG = "DCG"
    TH = "TH"  # titre homologué / titre professionnel (RNCP)
    LICENCE_PRO = "LICENCE PRO"
    LICENCE = "LICENCE"
    MASTER = "MASTER"
    INGENIEUR = "INGENIEUR"
    DE = "DE"  # diplôme d'État (santé, social)
    AUTRE = "AUTRE"


def _fold_diploma_type(value: object) -> object:
    """`Bac pro`, `bac  pro`, `BAC-PRO` all mean `BAC PRO`: case, accents and separators do not count."""
    if isinstance(value, str):
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        return " ".join(plain.replace("-", " ").replace("_", " ").upper().split())
    return value


class Diploma(_Record):
    """What the offer prepares, as the ministries' catalogue identifies it (all optional)."""

    type: Annotated[DiplomaType | None, BeforeValidator(_fold_diploma_type)] = Field(
        default=None, description="Type de diplôme du catalogue (CAP, BAC PRO, BP, BTS, BUT, TH, LICENCE PRO, DE…)"
    )
    cfd: str | None = Field(default=None, description="Code formation diplôme (CFD, Éducation nationale), 8 caractères")
    mef: list[str] = Field(default_factory=list, description="Codes MEF (10 caractères) de la 1re année, pour Affelnet")
    valid_until: str | None = Field(
        default=None, description="Fin de validité de la certification (AAAA-MM-JJ) ; absent = sans échéance connue"
    )


def _one_certification(value: object) -> object:
    # The guide: 1 formation = 1 certification (option) = 1 Certifinfo code. A list is not a typo
    # to coerce but a formation to split, so it gets the guide's rule rather than "doit être un texte".
    if isinstance(value, list):
        raise PydanticCustomError(
            "one_certification",
            "contient {count} codes : une formation prépare une seule certification (ou option), "
            "identifiée par un seul code Certifinfo ; créez une formation par certification ou option",
            {"count": len(value)},
        )
    return value


class Offer(_Record):
    """A formation and its sessions, as declared in the back-office."""

    reference: str = Field(description="Référence formation, 12 chiffres")
    status: Annotated[FormationStatus, BeforeValidator(_fold_status)]
    title: str = Field(description="Intitulé (300 caractères au plus dans le formulaire)")
    certifinfo: Annotated[str, BeforeValidator(_one_certification)] = Field(
        description="Le code Certifinfo de la seule certification préparée"
    )
    rncp: str | None = Field(default=None, description="Code RNCP, `RNCP38368` ou `38368`")
    web_links: list[str] = Field(default_factory=list)
    modalities: Modalities
    apprenticeship_years: list[int] = Field(
        default_factory=list, description="Années du cursus ouvertes à l'apprentissage (1 à 5)"
    )
    duration_years: int | None = Field(default=None, ge=1, le=5, description="Durée du cursus en années")
    entry_level: int | None = Field(
        default=None, ge=0, le=8, description="Niveau d'entrée (0 = sans niveau spécifique, 1..8)"
    )
    exit_level: int | None = Field(default=None, ge=1, le=8, description="Niveau de sortie (3 = CAP ... 7 = master)")
    objective: str
    expected_results: str
    content: str
    rhythm: str = Field(description="Rythme de la formation (texte)")
    alternance_rhythm: str | None = Field(default=None, description="Modalités de l'alternance (texte)")
    specific_conditions: str | None = None
    teaching_mode: TeachingMode = TeachingMode.PRESENTIEL
    formacode: list[str] = Field(default_factory=list)
    nsf: list[str] = Field(default_factory=list)
    rome: list[str] = Field(default_factory=list)
    responsable: Organisation
    formateur: Organisation | None = Field(default=None, description="Absent = le responsable forme")
    contacts: list[Contact] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    updated_at: datetime | None = Field(default=None, description="Dernière modification dans le back-office")
    # issue #7: what real LHÉO consumers read (dates, hours, recruitment).
    created_at: datetime | None = Field(default=None, description="Création de la formation dans le back-office")
    hours: Hours | None = None
    indicative_duration: str | None = Field(
        default=None, description="Durée indicative (texte, 150 caractères), ex. « 2 ans » ; absent = durée du cursus"
    )
    recruitment_perimeter: RecruitmentPerimeter | None = Field(
        default=None, description="Périmètre de recrutement (commune, departement, region, …)"
    )
    recruitment_terms: str | None = Field(
        default=None, description="Modalités de recrutement (texte), ex. « Entretien, tests de positionnement »"
    )
    # issue #8: what the offer prepares (Parcoursup / Affelnet perimeters).
    diploma: Diploma | None = Field(default=None, description="Ce que prépare l'offre (type, CFD, MEF, validité)")

    @property
    def effective_formateur(self) -> Organisation:
        return self.formateur or self.responsable
