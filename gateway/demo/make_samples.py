"""Write the bundled demo data: `sample_offers.jsonl` and `sample_offers_broken.jsonl`.

Run `python -m gateway.demo.make_samples` to rewrite both files next to this module. The script
is deterministic (no randomness, stable ordering): running it twice gives identical bytes.

Everything is INVENTED: organisations, SIRENs, UAIs, NDAs, Certifinfo and RNCP codes, people,
streets and web sites. Only the towns are real, with their real postcode and INSEE commune code
(Nouvelle-Aquitaine, plus an Ajaccio antenna run in partnership to exercise Corsican codes).
Identifiers are nevertheless *well formed*: SIRENs and SIRETs pass the Luhn check, UAIs carry
the right check letter, NDAs have 11 digits, Certifinfo codes 5-6 digits, RNCP codes
`RNCP` + 4-5 digits.

`sample_offers.jsonl` (one `gateway.intake.models.Offer` per line, sorted by reference):

* 50 realistic offers: CAP to master, mostly apprenticeship only, some contrat de
  professionnalisation + apprentissage, some professionnalisation only, two formation continue
  + apprentissage; 3 offers 100 % à distance (sessions without place); sessions in 2026-2029,
  one with an unknown end, one with a month-only start (`2027-09`); two CEDEX training places
  (Bordeaux CEDEX 33076, Poitiers CEDEX 9 86073, no INSEE code); a Corsican antenna (Ajaccio,
  postcode 20000, INSEE 2A004); titles with and without the provisional contract mention,
  one with a typographic apostrophe, one with a stale mention, one of about 290 characters.
  Statuses: mostly `validee`, 3 `publiee`, 1 `brouillon`, 2 `archivee`, 1 `supprimee`.
* Formateur vs responsable: several offers have a formateur that is another establishment of
  the responsable (same SIREN, different NIC). ONE offer (the licence pro of the CFA
  Universitaire Nouvelle-Aquitaine) has a formateur with a different SIREN, meant to be
  approved in the gateway configuration (`[[rules.approved_formateurs]]`):

      responsable_siren = "831456025"   # CFA Universitaire Nouvelle-Aquitaine
      formateur_siren   = "130027758"   # Université Garonne-Océan (its IUT teaches)

  (`APPROVED_PAIR` below; the script checks these literals against the computed SIRENs.)
* 7 deliberately BAD offers appended at the end (status `validee`, 12-digit references), one
  clear defect each; `BAD_OFFERS` maps each reference to the problem code the gateway should
  report:

      202604010001  SIRET_CHECKSUM                responsable SIRET with a wrong last digit
      202604010002  SESSION_END_BEFORE_START      a session ending before it starts
      202604010003  DATE_IMPOSSIBLE               a session starting on 2026-02-30
      202604010004  UAI_CHECK_LETTER              responsable UAI with the wrong check letter
      202604010005  APPRENTICESHIP_YEARS_MISSING  apprenticeship offered, no year ticked
      202604010006  MODALITIES_NONE               the three modalities answered "non"
      202604010007  RNCP_FORMAT                   RNCP code with 6 digits

* What each offer prepares (`diploma`, issue #8): the catalogue's diploma type from the
  certification's key (`DIPLOMA_TYPES`), an invented 8-character CFD, a 10-character MEF for
  the Affelnet diplomas (CAP, Bac pro, BP), and an end of validity: one expired
  (`cap_plaisance`) and one ending before 31 August 2028 (`bts_cpi`), to show the validity gate.

`sample_offers_broken.jsonl` shows input rejection: line 1 is well-formed JSON but not an Offer
(the required key `certifinfo` is missing), line 2 is not even valid JSON.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pydantic import ValidationError

from gateway.intake.models import Offer

HERE = Path(__file__).resolve().parent
SAMPLE_PATH = HERE / "sample_offers.jsonl"
BROKEN_PATH = HERE / "sample_offers_broken.jsonl"

UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O, Q


# --------------------------------------------------------------------------------------------
# Identifier helpers (also used by bench/synthetic.py)
# --------------------------------------------------------------------------------------------


def _luhn_complete(payload: str) -> str:
    """Append the digit that makes `payload` + digit pass the Luhn (mod 10) check."""
    if not payload.isdigit():
        raise ValueError(f"digits expected: {payload!r}")
    total = 0
    # Once the check digit is appended, the payload's last digit sits at an even position
    # from the right (counting from 1 at the check digit), so it is the one doubled.
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return payload + str((10 - total % 10) % 10)


def _luhn_ok(number: str) -> bool:
    """True when `number` (digits only) passes the Luhn check."""
    return number.isdigit() and len(number) >= 2 and _luhn_complete(number[:-1]) == number


def _with_luhn_check_digit(prefix13: str) -> str:
    """SIRET from its first 13 digits (SIREN + 4 NIC digits): append the Luhn check digit."""
    if len(prefix13) != 13:
        raise ValueError(f"13 digits expected: {prefix13!r}")
    return _luhn_complete(prefix13)


def _siren(prefix8: str) -> str:
    """A Luhn-valid SIREN from its first 8 digits."""
    if len(prefix8) != 8:
        raise ValueError(f"8 digits expected: {prefix8!r}")
    return _luhn_complete(prefix8)


def _siret(siren_prefix8: str, nic4: str) -> str:
    """A SIRET whose SIREN and whole 14 digits both pass the Luhn check."""
    return _with_luhn_check_digit(_siren(siren_prefix8) + nic4)


def _with_uai_check_letter(first7: str) -> str:
    """UAI from its 7 digits (department first, e.g. 033...): append the check letter."""
    if len(first7) != 7 or not first7.isdigit():
        raise ValueError(f"7 digits expected: {first7!r}")
    return first7 + UAI_LETTERS[int(first7) % 23]


def _uai_ok(uai: str) -> bool:
    return len(uai) == 8 and uai[:7].isdigit() and _with_uai_check_letter(uai[:7]) == uai


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in _ascii_fold(text).lower()).split()
    return "-".join(words)[:60].rstrip("-")


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, 28))


# --------------------------------------------------------------------------------------------
# Curated reference lists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """A real town with an invented street; `owner` is the establishment teaching there."""

    name: str | None
    lines: tuple[str, ...]
    postcode: str
    city: str
    insee: str | None
    cedex: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    owner: str | None = None

    def address(self) -> dict[str, object]:
        data: dict[str, object] = {}
        if self.name:
            data["name"] = self.name
        data["lines"] = list(self.lines)
        data["postcode"] = self.postcode
        data["city"] = self.city
        if self.cedex:
            data["cedex"] = self.cedex
        if self.insee:
            data["insee"] = self.insee
        if self.latitude and self.longitude:
            data["latitude"] = self.latitude
            data["longitude"] = self.longitude
        return data


# Hand-curated tables: a record per few lines reads better than a value per line.
# fmt: off
# Real postcode / INSEE commune code pairs (INSEE codes are strings: 2A004 in Corsica).
SITES: dict[str, Site] = {
    "merignac_btp": Site(
        "CFA du Bâtiment – campus de Mérignac", ("12 avenue des Compagnons-Bâtisseurs",), "33700", "Mérignac",
        "33281", None, "44.8412", "-0.6518", "btp33",
    ),
    "libourne_btp": Site(
        "CFA du Bâtiment – site de Libourne",
        ("7 rue des Tailleurs-de-Pierre", "Zone d'activités de la Ballastière"), "33500", "Libourne", "33243",
        None, "44.9153", "-0.2436", "btp33_lib",
    ),
    "mdm_agri": Site(
        "Campus agricole de Mont-de-Marsan", ("245 route de Saint-Sever",), "40000", "Mont-de-Marsan",
        "40192", None, "43.8902", "-0.4993", "agri40",
    ),
    "dax_agri": Site(
        "Site horticole de Dax", ("18 allée des Barthes",), "40100", "Dax", "40088", None, "43.7102",
        "-1.0536", "agri40_dax",
    ),
    "bordeaux_cfau": Site(
        "Immeuble Le Quintet", ("28 quai de Bacalan",), "33300", "Bordeaux", "33063", None, "44.8640",
        "-0.5530", "cfau",
    ),
    "bordeaux_univ_cedex": Site(
        "Campus Argonne", ("146 cours de l'Argonne", "BP 72"), "33076", "Bordeaux", None, "CEDEX", None, None,
        "univ",
    ),
    "pessac_iut": Site(
        "IUT Garonne-Océan – site de Pessac", ("15 avenue des Facultés",), "33600", "Pessac", "33318", None,
        "44.7950", "-0.6170", "iut",
    ),
    "agen_iut": Site(
        "IUT Garonne-Océan – antenne d'Agen", ("Campus Michel-Serres", "4 quai des Tanneries"), "47000",
        "Agen", "47001", None, "44.2033", "0.6163", "iut_agen",
    ),
    "limoges_cma": Site(
        "Campus des métiers de Limoges", ("9 rue des Compagnons",), "87000", "Limoges", "87085", None,
        "45.8336", "1.2611", "cma87",
    ),
    "pau_com": Site(
        None, ("31 boulevard de l'Europe",), "64000", "Pau", "64445", None, "43.2951", "-0.3708", "com64",
    ),
    "bayonne_cfp": Site(
        None, ("5 allée du Port-Neuf",), "64100", "Bayonne", "64102", None, "43.4929", "-1.4748", "basque",
    ),
    "anglet_cfp": Site(
        "Centre de Formation Côte Basque – site d'Anglet", ("12 rue des Artisans",), "64600", "Anglet",
        "64024", None, "43.4850", "-1.5195", "basque_anglet",
    ),
    "poitiers_ind_cedex": Site(
        "Pôle Formation Industrie Vienne", ("Technopôle du Clain", "5 rue des Ateliers"), "86073", "Poitiers",
        None, "CEDEX 9", None, None, "ind86",
    ),
    "chatellerault_ind": Site(
        "Plateau technique de Châtellerault", ("2 rue de la Manufacture",), "86100", "Châtellerault", "86066",
        None, "46.8178", "0.5461", "ind86_chat",
    ),
    "larochelle_mer": Site(
        "Pôle nautique des Minimes", ("14 quai des Voiliers", "Port des Minimes"), "17000", "La Rochelle",
        "17300", None, "46.1440", "-1.1670", "mer17",
    ),
    "ajaccio_mer": Site(
        "Antenne Méditerranée (partenariat)", ("Quai de l'Amirauté", "Port Charles-Ornano"), "20000",
        "Ajaccio", "2A004", None, "41.9267", "8.7369", None,
    ),
    "perigueux_hot": Site(
        "Restaurant d'application Le Périgord", ("11 avenue des Gourmets",), "24000", "Périgueux", "24322",
        None, "45.1846", "0.7214", "hot24",
    ),
    "bergerac_hot": Site(
        "Site de Bergerac", ("6 place des Vignerons",), "24100", "Bergerac", "24037", None, "44.8533",
        "0.4833", "hot24_berg",
    ),
    "agen_san": Site(
        "Institut de formation – bâtiment B", ("3 rue des Soignants",), "47000", "Agen", "47001", None,
        "44.1980", "0.6210", "san47",
    ),
    "niort_log": Site(
        None, ("17 rue des Transporteurs", "Parc d'activités de Saint-Liguaire"), "79000", "Niort", "79191",
        None, "46.3237", "-0.4588", "log79",
    ),
    "angouleme_esc": Site(
        None, ("25 rue de l'Image",), "16000", "Angoulême", "16015", None, "45.6484", "0.1562", "esc16",
    ),
    "cognac_esc": Site(
        "Campus de Cognac", ("4 quai des Chais",), "16100", "Cognac", "16102", None, "45.6958", "-0.3287",
        "esc16_cognac",
    ),
    "tulle_cfai": Site(
        None, ("10 rue de l'Accordéon",), "19000", "Tulle", "19272", None, "45.2658", "1.7722", "cfai19",
    ),
    "brive_cfai": Site(
        "Site de Brive", ("29 avenue des Métiers",), "19100", "Brive-la-Gaillarde", "19031", None, "45.1589",
        "1.5331", "cfai19_brive",
    ),
    "gueret_mfr": Site(
        None, ("Lieu-dit Le Puy de Gaudy",), "23000", "Guéret", "23096", None, "46.1713", "1.8716", "mfr23",
    ),
}


@dataclass(frozen=True, slots=True)
class Person:
    civility: str
    first_name: str
    last_name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Establishment:
    """An establishment (SIRET) of an invented organisation; same `siren8` = same SIREN."""

    siren8: str
    nic4: str
    name: str
    legal_name: str
    nda: str
    uai7: str
    site: str
    phone: str
    domain: str
    people: tuple[Person, ...] = ()

    @property
    def siren(self) -> str:
        return _siren(self.siren8)

    @property
    def siret(self) -> str:
        return _siret(self.siren8, self.nic4)

    @property
    def uai(self) -> str:
        return _with_uai_check_letter(self.uai7)

    def organisation(self) -> dict[str, object]:
        return {
            "siret": self.siret,
            "name": self.name,
            "legal_name": self.legal_name,
            "nda": self.nda,
            "uai": self.uai,
            "address": SITES[self.site].address(),
            "phone": self.phone,
            "email": f"contact@{self.domain}",
            "web": f"https://www.{self.domain}/",
        }


def _p(civility: str, first: str, last: str, phone: str) -> Person:
    return Person(civility, first, last, phone)


ESTABLISHMENTS: dict[str, Establishment] = {
    "btp33": Establishment(
        "78145230", "0001", "CFA du Bâtiment de la Gironde", "ASSOCIATION BTP CFA GIRONDE", "75330412733",
        "0331521", "merignac_btp", "05 56 34 12 80", "cfa-batiment-gironde.example",
        (_p("Mme", "Sandrine", "Lacoste", "05 56 34 12 81"), _p("M.", "Thierry", "Baudry", "05 56 34 12 85")),
    ),
    "btp33_lib": Establishment(
        "78145230", "0004", "CFA du Bâtiment de la Gironde – site de Libourne", "ASSOCIATION BTP CFA GIRONDE",
        "75330412733", "0332874", "libourne_btp", "05 57 51 40 10", "cfa-batiment-gironde.example",
        (_p("M.", "Olivier", "Rousseau", "05 57 51 40 12"),),
    ),
    "agri40": Establishment(
        "19400750", "0001", "CFA Agricole des Landes",
        "ETABLISSEMENT PUBLIC LOCAL D'ENSEIGNEMENT ET DE FORMATION PROFESSIONNELLE AGRICOLE DES LANDES",
        "75400118240", "0400753", "mdm_agri", "05 58 05 71 00", "cfa-agricole-landes.example",
        (_p("Mme", "Maïté", "Darrigrand", "05 58 05 71 04"), _p("M.", "Pierre", "Lafitte", "05 58 05 71 09")),
    ),
    "agri40_dax": Establishment(
        "19400750", "0003", "CFA Agricole des Landes – site de Dax",
        "ETABLISSEMENT PUBLIC LOCAL D'ENSEIGNEMENT ET DE FORMATION PROFESSIONNELLE AGRICOLE DES LANDES",
        "75400118240", "0401012", "dax_agri", "05 58 74 20 30", "cfa-agricole-landes.example",
        (_p("Mme", "Hélène", "Dufau", "05 58 74 20 31"),),
    ),
    "cfau": Establishment(
        "83145602", "0002", "CFA Universitaire Nouvelle-Aquitaine",
        "ASSOCIATION CFA UNIVERSITAIRE DE NOUVELLE-AQUITAINE", "75331029333", "0333184", "bordeaux_cfau",
        "05 56 29 61 00", "cfa-universitaire-na.example",
        (_p("Mme", "Claire", "Ménard", "05 56 29 61 07"), _p("M.", "Nicolas", "Pujol", "05 56 29 61 12")),
    ),
    "univ": Establishment(
        "13002775", "0001", "Université Garonne-Océan", "UNIVERSITE GARONNE-OCEAN", "75331550933", "0333298",
        "bordeaux_univ_cedex", "05 40 00 60 00", "univ-garonne-ocean.example",
        (_p("M.", "Laurent", "Esteve", "05 40 00 61 45"), _p("Mme", "Amandine", "Roux", "05 40 00 61 46")),
    ),
    "iut": Establishment(
        "13002775", "0012", "IUT Garonne-Océan", "UNIVERSITE GARONNE-OCEAN", "75331550933", "0331620",
        "pessac_iut", "05 56 84 57 00", "univ-garonne-ocean.example",
        (_p("Mme", "Sophie", "Garnier", "05 56 84 57 31"),),
    ),
    "iut_agen": Establishment(
        "13002775", "0020", "IUT Garonne-Océan – antenne d'Agen", "UNIVERSITE GARONNE-OCEAN", "75331550933",
        "0470990", "agen_iut", "05 53 48 06 00", "univ-garonne-ocean.example",
        (_p("M.", "Karim", "Benali", "05 53 48 06 14"),),
    ),
    "cma87": Establishment(
        "18870019", "0004", "CFA des Métiers de la Haute-Vienne",
        "CHAMBRE DE METIERS ET DE L'ARTISANAT DE LA HAUTE-VIENNE", "75870067287", "0870671", "limoges_cma",
        "05 55 45 27 00", "cfa-metiers-87.example",
        (_p("Mme", "Isabelle", "Chabrol", "05 55 45 27 18"), _p("M.", "Franck", "Delage", "05 55 45 27 22")),
    ),
    "com64": Establishment(
        "44087316", "0003", "CFA Commerce et Services du Béarn",
        "ASSOCIATION POUR LA FORMATION EN ALTERNANCE DU BEARN", "75640154964", "0641789", "pau_com",
        "05 59 82 51 00", "cfa-commerce-bearn.example",
        (_p("Mme", "Nathalie", "Casenave", "05 59 82 51 06"), _p("M.", "Julien", "Pouey", "05 59 82 51 08")),
    ),
    "basque": Establishment(
        "51342087", "0001", "Centre de Formation Professionnelle Côte Basque",
        "SAS CENTRE DE FORMATION PROFESSIONNELLE COTE BASQUE", "75640327164", "0642110", "bayonne_cfp",
        "05 59 31 22 40", "cfp-cote-basque.example",
        (_p("M.", "Peio", "Etcheverry", "05 59 31 22 41"), _p("Mme", "Ainhoa", "Larralde", "05 59 31 22 47")),
    ),
    "basque_anglet": Establishment(
        "51342087", "0002", "Centre de Formation Professionnelle Côte Basque – site d'Anglet",
        "SAS CENTRE DE FORMATION PROFESSIONNELLE COTE BASQUE", "75640327164", "0642245", "anglet_cfp",
        "05 59 63 18 20", "cfp-cote-basque.example", (_p("Mme", "Maider", "Ospital", "05 59 63 18 21"),),
    ),
    "ind86": Establishment(
        "77568043", "0025", "Pôle Formation Industrie Vienne",
        "ASSOCIATION POUR LA FORMATION PROFESSIONNELLE DE L'INDUSTRIE DE LA VIENNE", "75860032186", "0861143",
        "poitiers_ind_cedex", "05 49 37 80 00", "pole-industrie-vienne.example",
        (_p("M.", "Stéphane", "Moreau", "05 49 37 80 15"), _p("Mme", "Émilie", "Guérin", "05 49 37 80 16")),
    ),
    "ind86_chat": Establishment(
        "77568043", "0033", "Pôle Formation Industrie Vienne – Châtellerault",
        "ASSOCIATION POUR LA FORMATION PROFESSIONNELLE DE L'INDUSTRIE DE LA VIENNE", "75860032186", "0861287",
        "chatellerault_ind", "05 49 21 30 40", "pole-industrie-vienne.example",
        (_p("M.", "David", "Bonnin", "05 49 21 30 41"),),
    ),
    "mer17": Establishment(
        "39152648", "0002", "CFA des Métiers de la Mer et du Nautisme",
        "ASSOCIATION CFA MER ET NAUTISME ATLANTIQUE", "75170287417", "0171532", "larochelle_mer",
        "05 46 44 90 00", "cfa-mer-nautisme.example",
        (_p("M.", "Yann", "Le Goff", "05 46 44 90 03"), _p("Mme", "Paola", "Santoni", "04 95 21 30 30")),
    ),
    "hot24": Establishment(
        "42918365", "0001", "CFA Hôtellerie-Restauration du Périgord",
        "ASSOCIATION DES METIERS DE L'HOTELLERIE DU PERIGORD", "75240098524", "0241187", "perigueux_hot",
        "05 53 02 47 00", "cfa-hotellerie-perigord.example",
        (_p("Mme", "Valérie", "Lafon", "05 53 02 47 05"), _p("M.", "Christophe", "Delmas", "05 53 02 47 11")),
    ),
    "hot24_berg": Establishment(
        "42918365", "0002", "CFA Hôtellerie-Restauration du Périgord – site de Bergerac",
        "ASSOCIATION DES METIERS DE L'HOTELLERIE DU PERIGORD", "75240098524", "0241306", "bergerac_hot",
        "05 53 57 10 20", "cfa-hotellerie-perigord.example",
        (_p("M.", "Benoît", "Peyrat", "05 53 57 10 22"),),
    ),
    "san47": Establishment(
        "26470021", "0006", "Institut de Formation Sanitaire et Social du Lot-et-Garonne",
        "GROUPEMENT DE COOPERATION SANITAIRE FORMATION LOT-ET-GARONNE", "75470041847", "0470845", "agen_san",
        "05 53 69 70 00", "ifss-47.example",
        (_p("Mme", "Corinne", "Baylac", "05 53 69 70 12"), _p("Mme", "Fatima", "Haddad", "05 53 69 70 15")),
    ),
    "log79": Establishment(
        "50617293", "0004", "CFA Transport et Logistique des Deux-Sèvres",
        "ASSOCIATION TRANSPORT LOGISTIQUE FORMATION DEUX-SEVRES", "75790076479", "0791022", "niort_log",
        "05 49 33 62 00", "cfa-transport-79.example",
        (_p("M.", "Jérôme", "Texier", "05 49 33 62 04"), _p("Mme", "Audrey", "Pineau", "05 49 33 62 09")),
    ),
    "esc16": Establishment(
        "38971520", "0001", "École Supérieure de Commerce Charente-Atlantique", "SAS ESC CHARENTE-ATLANTIQUE",
        "75160213716", "0161094", "angouleme_esc", "05 45 90 13 00", "esc-charente-atlantique.example",
        (_p("Mme", "Marion", "Vergnaud", "05 45 90 13 20"), _p("M.", "Arnaud", "Faure", "05 45 90 13 27")),
    ),
    "esc16_cognac": Establishment(
        "38971520", "0002", "École Supérieure de Commerce Charente-Atlantique – campus de Cognac",
        "SAS ESC CHARENTE-ATLANTIQUE", "75160213716", "0161233", "cognac_esc", "05 45 82 40 50",
        "esc-charente-atlantique.example", (_p("Mme", "Lucie", "Brunet", "05 45 82 40 52"),),
    ),
    "cfai19": Establishment(
        "31648209", "0008", "CFA Interprofessionnel de la Corrèze",
        "ASSOCIATION CFA INTERPROFESSIONNEL DE LA CORREZE", "75190038119", "0190698", "tulle_cfai",
        "05 55 20 68 00", "cfai-correze.example",
        (_p("M.", "Philippe", "Vialle", "05 55 20 68 10"), _p("Mme", "Sylvie", "Mazeyrie", "05 55 20 68 14")),
    ),
    "cfai19_brive": Establishment(
        "31648209", "0016", "CFA Interprofessionnel de la Corrèze – site de Brive",
        "ASSOCIATION CFA INTERPROFESSIONNEL DE LA CORREZE", "75190038119", "0190745", "brive_cfai",
        "05 55 86 34 00", "cfai-correze.example", (_p("M.", "Romain", "Lachaud", "05 55 86 34 06"),),
    ),
    "mfr23": Establishment(
        "77720391", "0006", "Maison Familiale Rurale de la Creuse",
        "ASSOCIATION MAISON FAMILIALE RURALE DE LA CREUSE", "75230010223", "0230532", "gueret_mfr",
        "05 55 52 18 90", "mfr-creuse.example",
        (_p("Mme", "Agnès", "Pradeau", "05 55 52 18 91"), _p("M.", "Gilles", "Aupetit", "05 55 52 18 93")),
    ),
}

# The one responsable/formateur pair with different SIRENs (see the module docstring).
APPROVED_PAIR: tuple[str, str] = ("831456025", "130027758")


@dataclass(frozen=True, slots=True)
class Certification:
    """One certification (= one Certifinfo code), with the texts describing its formation."""

    family: str  # key of FAMILIES
    title: str
    certifinfo: str
    rncp: str
    entry_level: int
    exit_level: int
    duration: int
    years: tuple[int, ...]
    formacode: tuple[str, ...]
    rome: tuple[str, ...]
    nsf: tuple[str, ...]
    objective: str
    results: str
    content: str
    months: int = 0  # contract length for rolling entries (titres pro, diplômes d'État)


@dataclass(frozen=True, slots=True)
class Family:
    rhythm: str
    alternance: str
    content_tail: str
    start_day: int = 1
    end: str = "06-30"  # month-day of the end of a school-calendar session


FAMILIES: dict[str, Family] = {
    "cap": Family(
        "Formation en alternance sur deux ans : 420 heures par an en centre de formation, "
        "35 heures par semaine pendant les semaines au CFA.",
        "Alternance : 1 semaine en centre, 2 semaines en entreprise",
        "Les enseignements généraux (français, histoire-géographie, mathématiques-sciences, "
        "prévention-santé-environnement, langue vivante) représentent environ un tiers du temps en centre.",
    ),
    "bacpro": Family(
        "Parcours en trois ans avec 1 850 heures en centre au total ; 35 heures hebdomadaires "
        "pendant les semaines au CFA.",
        "Alternance : 2 semaines en centre, 2 semaines en entreprise",
        "Les enseignements généraux (français, histoire-géographie, mathématiques, langue vivante, "
        "économie-gestion) sont en partie assurés en co-intervention, et un chef-d'œuvre est "
        "réalisé sur les deux dernières années.",
    ),
    "bp": Family(
        "Formation de deux ans, 455 heures par an en centre de formation.",
        "Alternance : 1 semaine en centre, 3 semaines en entreprise",
        "La formation comprend aussi expression française et ouverture sur le monde, langue vivante "
        "et gestion d'une entreprise artisanale.",
    ),
    "bts": Family(
        "1 350 heures de formation en centre sur deux ans, du lundi au mercredi pendant les périodes de cours.",
        "Alternance : 2 jours en centre, 3 jours en entreprise",
        "Culture générale et expression, langue vivante étrangère et culture économique, juridique et "
        "managériale complètent les blocs professionnels.",
    ),
    "but": Family(
        "Environ 600 heures par an à l'IUT pendant les années suivies en apprentissage.",
        "Alternance : 3 semaines à l'IUT, 3 semaines en entreprise, rythme allégé en fin de cursus",
        "Les situations d'apprentissage et d'évaluation (SAÉ) s'appuient sur les missions confiées en "
        "entreprise et alimentent le portfolio de compétences.",
        start_day=1,
        end="08-31",
    ),
    "lp": Family(
        "450 heures d'enseignement de septembre à juin, dont 150 heures de projet tuteuré.",
        "Alternance : 2 semaines à l'université, 2 semaines en entreprise",
        "Un projet tuteuré et la mission en entreprise donnent lieu à un mémoire soutenu devant un "
        "jury d'universitaires et de professionnels.",
        end="08-31",
    ),
    "licence": Family(
        "Troisième année : 480 heures d'enseignement, cours regroupés en début de semaine.",
        "Alternance : 2 jours à l'université, 3 jours en entreprise",
        "Le rapport de mission, rédigé au second semestre, est soutenu devant un jury mixte "
        "d'enseignants et de professionnels.",
        end="08-31",
    ),
    "tp": Family(
        "Parcours de 12 mois environ : 560 heures en centre et le reste du temps en entreprise.",
        "Alternance : 1 semaine en centre, 3 semaines en entreprise",
        "Chaque activité type donne lieu à un certificat de compétences professionnelles (CCP) ; "
        "la session d'examen comprend une mise en situation professionnelle et un entretien avec le jury.",
    ),
    "de": Family(
        "Parcours de 18 mois : 770 heures de formation théorique et 770 heures en milieu professionnel.",
        "Alternance : 2 semaines en institut, 3 semaines chez l'employeur, stages compris",
        "Les périodes en milieu professionnel sont encadrées par un tuteur et font l'objet "
        "d'évaluations de compétences pour chaque bloc.",
    ),
    "master": Family(
        "Deux années de 450 heures d'enseignement chacune, en semaines bloquées.",
        "Alternance : 1 semaine à l'université, 2 semaines en entreprise ; temps plein en entreprise de mai à août",
        "Un mémoire d'apprentissage, adossé aux missions conduites dans l'entreprise, est soutenu en fin de cursus.",
        end="08-31",
    ),
    "titre": Family(
        "Cycle de deux ans, 500 heures par an à l'école, cours en présentiel et ateliers en ligne.",
        "Alternance : 1 semaine à l'école, 3 semaines en entreprise",
        "La certification est obtenue par la validation des blocs de compétences, évalués par études "
        "de cas, projets d'entreprise et soutenance devant un jury professionnel.",
        end="08-31",
    ),
}


def _c(
    family: str,
    title: str,
    certifinfo: str,
    rncp: str,
    levels: tuple[int, int],
    duration: int,
    years: tuple[int, ...],
    codes: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
    objective: str,
    results: str,
    content: str,
    months: int = 0,
) -> Certification:
    formacode, rome, nsf = codes
    return Certification(
        family,
        title,
        certifinfo,
        rncp,
        levels[0],
        levels[1],
        duration,
        years,
        formacode,
        rome,
        nsf,
        objective,
        results,
        content,
        months,
    )


CERTIFICATIONS: dict[str, Certification] = {
    "cap_macon": _c(
        "cap", "CAP Maçon", "54210", "RNCP34864", (0, 3), 2, (1, 2), (("22454",), ("F1703",), ("232",)),
        "Former des maçons capables de réaliser les ouvrages courants du gros œuvre : fondations, "
        "murs en maçonnerie, dalles et linteaux en béton armé. L'apprenti apprend à lire un plan, "
        "à implanter un ouvrage et à travailler en sécurité sur le chantier.",
        "Le titulaire peut travailler comme ouvrier maçon qualifié dans une entreprise de construction "
        "ou de rénovation, en maison individuelle comme en petit collectif.",
        "Lecture de plans et technologie de construction ; montage de murs en blocs et en briques ; "
        "coffrage, ferraillage et coulage du béton ; enduits, chapes et petits ouvrages. "
        "Prévention des risques liés à l'activité physique et travail en hauteur.",
    ),
    "cap_menuisier": _c(
        "cap", "CAP Menuisier fabricant", "54233", "RNCP35287", (0, 3), 2, (1, 2),
        (("22624",), ("H2206",), ("234",)),
        "Former des menuisiers capables de fabriquer en atelier des ouvrages en bois et dérivés : "
        "portes, fenêtres, escaliers, agencements. L'apprenti apprend à débiter, usiner et assembler "
        "les pièces à partir d'un dossier de fabrication.",
        "Le titulaire exerce en entreprise artisanale ou industrielle de menuiserie, d'agencement ou "
        "de charpente, principalement en atelier.",
        "Lecture de plans et tracés ; choix des bois et panneaux ; réglage et conduite des machines "
        "d'usinage ; assemblage, finition et conditionnement. Initiation à la commande numérique et "
        "aux règles de sécurité machines.",
    ),
    "cap_electricien": _c(
        "cap", "CAP Électricien", "101986", "RNCP36451", (0, 3), 2, (1, 2),
        (("24049",), ("F1602",), ("255",)),
        "Préparer aux travaux d'installation électrique dans les bâtiments résidentiels et "
        "tertiaires : pose des canalisations, raccordement des appareillages, mise en service. "
        "L'apprenti acquiert l'habilitation électrique nécessaire aux interventions courantes.",
        "Le titulaire devient électricien d'équipement sous la responsabilité d'un chef d'équipe, "
        "dans une entreprise d'électricité générale.",
        "Réalisation d'installations basse tension ; lecture de schémas ; câblage de tableaux de "
        "répartition ; réseaux de communication et domotique de base. Préparation à l'habilitation "
        "électrique B1V-BR et aux contrôles de mise en service.",
    ),
    "cap_cuisine": _c(
        "cap", "CAP Cuisine", "93612", "RNCP37861", (0, 3), 2, (1, 2), (("42752",), ("G1602",), ("221",)),
        "Former des commis de cuisine capables de réceptionner les produits, de préparer les "
        "légumes, viandes et poissons, et de réaliser des plats simples dans le respect des règles "
        "d'hygiène. L'apprenti participe au service en brigade.",
        "Le titulaire débute comme commis de cuisine en restauration traditionnelle, collective ou "
        "commerciale, et peut évoluer vers un poste de chef de partie.",
        "Organisation de la production ; techniques de base de cuisine ; cuissons, sauces, "
        "pâtisserie de restaurant ; hygiène alimentaire et méthode HACCP ; dressage et envoi des "
        "plats en service.",
    ),
    "cap_csr": _c(
        "cap", "CAP Commercialisation et services en hôtel-café-restaurant", "93617", "RNCP37862", (0, 3), 2,
        (1, 2), (("42784",), ("G1803",), ("334",)),
        "Former des professionnels du service en salle, au bar et à l'étage, capables d'accueillir "
        "la clientèle, de conseiller et de servir dans un établissement hôtelier ou de restauration.",

        "Le titulaire peut occuper un poste de commis de salle, de serveur, d'employé de bar ou d'employé d'étage.",
        "Accueil et prise de commande ; mise en place et service en salle ; préparation des boissons "
        "au bar ; entretien des chambres et des espaces communs ; communication en langue anglaise "
        "avec la clientèle.",
    ),
    "cap_boulanger": _c(
        "cap", "CAP Boulanger", "58423", "RNCP35316", (0, 3), 2, (1, 2), (("21528",), ("D1102",), ("221",)),
        "Former des boulangers capables de fabriquer les pains courants et de tradition ainsi que "
        "les viennoiseries, de la réception des matières premières à la cuisson. L'apprenti "
        "apprend à conduire les fermentations et à organiser son poste de travail.",
        "Le titulaire travaille comme ouvrier boulanger en boulangerie artisanale, en grande "
        "distribution ou en industrie, et peut poursuivre en BP Boulanger.",
        "Pétrissage, pointage, façonnage et cuisson ; pâtes levées feuilletées ; connaissance des "
        "farines et des levains ; hygiène et sécurité alimentaire ; calcul des coûts de production.",
    ),
    "cap_coiffure": _c(
        "cap", "CAP Métiers de la coiffure", "104329", "RNCP35273", (0, 3), 2, (1, 2),
        (("42054",), ("D1202",), ("336",)),
        "Former des coiffeurs capables de réaliser shampoings, coupes, couleurs et coiffages pour "
        "une clientèle femme et homme, tout en conseillant sur les soins et les produits.",
        "Le titulaire exerce comme coiffeur qualifié en salon, en entreprise de coiffure à domicile "
        "ou dans le secteur de la mode et du spectacle.",
        "Techniques de coupe et de coiffage ; coloration et effets de couleur ; soins capillaires ; "
        "accueil, conseil et vente de produits ; hygiène et prévention des troubles musculo-squelettiques.",
    ),
    "cap_aepe": _c(
        "cap", "CAP Accompagnant éducatif petite enfance", "87514", "RNCP38565", (0, 3), 2, (1, 2),
        (("44028",), ("K1303",), ("332",)),
        "Former des professionnels de l'accueil du jeune enfant de moins de six ans, en établissement "
        "d'accueil collectif, en école maternelle ou à domicile. L'apprenti apprend à répondre aux "
        "besoins fondamentaux de l'enfant et à accompagner son éveil.",
        "Le titulaire peut exercer en crèche, en multi-accueil, comme assistant maternel ou comme "
        "agent territorial spécialisé des écoles maternelles après concours.",
        "Développement et besoins de l'enfant ; soins d'hygiène et de confort ; activités d'éveil ; "
        "relation avec les familles ; entretien des locaux et des matériels ; sécurité et prévention.",
    ),
    "capa_jardinier": _c(
        "cap", "CAPa Jardinier paysagiste", "66412", "RNCP25247", (0, 3), 2, (1, 2),
        (("21046",), ("A1203",), ("214",)),
        "Former des ouvriers paysagistes capables de réaliser des travaux d'aménagement et "
        "d'entretien d'espaces verts : plantations, gazons, petites maçonneries paysagères. "
        "L'apprenti apprend à utiliser le matériel en sécurité et à respecter l'environnement.",
        "Le titulaire travaille en entreprise du paysage, en collectivité territoriale ou en "
        "jardinerie, comme ouvrier qualifié.",
        "Reconnaissance des végétaux ; préparation des sols et plantation ; taille et tonte ; "
        "entretien des équipements motorisés ; pose de dallages et bordures ; gestion différenciée "
        "des espaces.",
    ),
    "cap_plaisance": _c(
        "cap", "CAP Réparation et entretien des embarcations de plaisance", "57845", "RNCP35301", (0, 3), 2,
        (1, 2), (("31854",), ("I1605",), ("252",)),
        "Former des techniciens d'atelier et de port capables d'entretenir et de réparer les "
        "bateaux de plaisance : moteurs, accastillage, coques en composite et gréement. "
        "L'apprenti intervient à terre comme à flot, en chantier naval ou en concession.",
        "Le titulaire exerce comme agent d'entretien et de réparation nautique dans les ports, "
        "chantiers et loueurs de bateaux du littoral atlantique et méditerranéen.",
        "Mécanique des moteurs in-bord et hors-bord ; électricité embarquée ; stratification et "
        "réparation des coques ; accastillage et gréement ; manutention des bateaux et sécurité "
        "en milieu portuaire.",
    ),
    "cap_mv": _c(
        "cap", "CAP Maintenance des véhicules option A voitures particulières", "61207", "RNCP37474", (0, 3),
        2, (1, 2), (("31812",), ("I1604",), ("252",)),
        "Former des mécaniciens capables d'effectuer l'entretien courant et le remplacement "
        "d'éléments sur les voitures particulières, y compris hybrides, en suivant les préconisations "
        "des constructeurs.",

        "Le titulaire travaille en garage, concession automobile ou centre d'entretien rapide, comme mécanicien.",
        "Maintenance périodique ; freinage, liaison au sol et direction ; diagnostic de premier "
        "niveau avec outil d'aide ; sensibilisation aux véhicules électriques et hybrides ; accueil "
        "du client et restitution du véhicule.",
    ),
    "bacpro_mspc": _c(
        "bacpro", "Bac pro Maintenance des systèmes de production connectés", "103288", "RNCP35475", (0, 4),
        3, (1, 2, 3), (("23054",), ("I1304",), ("250",)),
        "Former des techniciens de maintenance capables d'intervenir sur des équipements de "
        "production automatisés et connectés : maintenance préventive, corrective et améliorative. "
        "L'apprenti apprend à diagnostiquer une panne mécanique, électrique ou pneumatique.",
        "Le titulaire occupe un poste de technicien de maintenance en industrie et peut poursuivre "
        "en BTS Maintenance des systèmes.",
        "Analyse fonctionnelle des systèmes ; mécanique, électrotechnique, pneumatique et "
        "hydraulique ; automatismes et supervision ; gestion de la maintenance assistée par "
        "ordinateur ; habilitation électrique.",
    ),
    "bacpro_cgea": _c(
        "bacpro", "Bac pro Conduite et gestion de l'entreprise agricole, support polyculture-élevage",
        "68351", "RNCP29264", (0, 4), 3, (2, 3), (("21054",), ("A1416",), ("210",)),
        "Former des responsables d'exploitation agricole capables de conduire un système de "
        "polyculture-élevage, d'en assurer la gestion technique et économique et de préparer une "
        "installation. L'apprenti participe à toutes les activités de l'exploitation.",
        "Le titulaire peut s'installer comme exploitant (capacité professionnelle agricole) ou "
        "travailler comme salarié qualifié d'exploitation.",
        "Conduite des cultures et des troupeaux ; agronomie et zootechnie ; agroéquipements ; gestion "
        "économique, comptable et administrative ; pratiques agroécologiques et bien-être animal.",
    ),
    "bacpro_mcv": _c(
        "bacpro",
        "Bac pro Métiers du commerce et de la vente option A animation et gestion de l'espace commercial",
        "96714", "RNCP32208", (0, 4), 3, (1, 2, 3), (("34566",), ("D1214",), ("312",)),
        "Former des vendeurs et employés de commerce capables d'accueillir et de conseiller la "
        "clientèle, de participer à l'animation de l'espace de vente et à la gestion des rayons. "
        "L'apprenti prend progressivement en charge une partie de l'offre commerciale.",
        "Le titulaire travaille comme vendeur qualifié, employé de commerce ou adjoint de rayon, "
        "et peut poursuivre en BTS Management commercial opérationnel.",
        "Conseil et vente ; suivi des ventes et fidélisation ; animation et gestion de l'espace "
        "commercial ; marchandisage ; approvisionnement ; outils numériques de la relation client.",
    ),
    "bacpro_logistique": _c(
        "bacpro", "Bac pro Logistique", "95402", "RNCP37927", (0, 4), 3, (2, 3),
        (("31756",), ("N1103",), ("311",)),
        "Former des opérateurs logistiques capables de réceptionner, stocker, préparer et expédier "
        "les marchandises, en utilisant les systèmes d'information et les engins de manutention. "
        "L'apprenti apprend à optimiser les flux dans un entrepôt.",
        "Le titulaire travaille comme agent logistique, préparateur de commandes ou magasinier, "
        "et peut encadrer une petite équipe après expérience.",
        "Réception et contrôle des flux ; stockage et inventaires ; préparation de commandes et "
        "expédition ; conduite en sécurité des chariots (CACES R489) ; logiciels de gestion "
        "d'entrepôt ; prévention des risques.",
    ),
    "bp_boulanger": _c(
        "bp", "BP Boulanger", "58511", "RNCP35317", (3, 4), 2, (1, 2), (("21528",), ("D1102",), ("221",)),
        "Former des boulangers hautement qualifiés capables d'élaborer une gamme complète de pains, "
        "viennoiseries et produits traiteur, d'encadrer une équipe et de participer à la gestion de "
        "l'entreprise.",
        "Le titulaire peut devenir chef boulanger, responsable de production ou créer sa propre boulangerie.",
        "Pains spéciaux et de tradition ; viennoiseries et décor ; produits de restauration "
        "boulangère ; gestion de production et des approvisionnements ; management et commercialisation.",
    ),
    "bp_coiffure": _c(
        "bp", "BP Coiffure", "104588", "RNCP35274", (3, 4), 2, (1, 2), (("42054",), ("D1202",), ("336",)),
        "Former des coiffeurs hautement qualifiés capables de concevoir des coupes et couleurs "
        "personnalisées, d'encadrer une équipe et de gérer un salon de coiffure.",

        "Le diplôme permet d'ouvrir ou de reprendre un salon de coiffure et d'exercer comme manager de salon.",
        "Création et personnalisation de coupes ; colorimétrie avancée ; conseil en image ; "
        "management d'équipe ; gestion commerciale et financière du salon ; réglementation.",
    ),
    "bp_amenagements": _c(
        "bp", "BP Aménagements paysagers", "66598", "RNCP29278", (3, 4), 2, (1, 2),
        (("21046",), ("A1203",), ("214",)),
        "Former des ouvriers hautement qualifiés et chefs d'équipe capables d'organiser et de "
        "réaliser un chantier d'aménagement paysager, de la lecture du plan à la réception des travaux.",
        "Le titulaire peut prendre la responsabilité d'une équipe en entreprise du paysage ou en "
        "collectivité, ou créer son entreprise.",
        "Organisation de chantier ; travaux de maçonnerie paysagère et de génie végétal ; gestion "
        "de l'eau et arrosage automatique ; connaissance des végétaux ; encadrement d'équipe.",
    ),
    "bts_mco": _c(
        "bts", "BTS Management commercial opérationnel", "98702", "RNCP38362", (4, 5), 2, (1, 2),
        (("34566",), ("D1301", "D1503"), ("312",)),
        "Former des managers d'unité commerciale capables de prendre la responsabilité de tout ou "
        "partie d'une unité : gestion de la relation client, animation de l'offre, gestion "
        "opérationnelle et management de l'équipe. L'apprenti conduit des projets commerciaux réels.",
        "Le titulaire occupe des postes de manager adjoint, chef de rayon, responsable de secteur "
        "ou conseiller commercial.",
        "Développement de la relation client et vente conseil ; animation et dynamisation de l'offre "
        "commerciale ; gestion opérationnelle ; management de l'équipe commerciale ; projets "
        "d'animation menés dans l'entreprise d'accueil.",
    ),
    "bts_ndrc": _c(
        "bts", "BTS Négociation et digitalisation de la relation client", "98715", "RNCP38372", (4, 5), 2,
        (1, 2), (("34554",), ("D1402",), ("312",)),
        "Former des commerciaux capables de gérer la relation client dans sa globalité, en "
        "présentiel comme à distance, de la prospection à la fidélisation. L'apprenti utilise les "
        "outils numériques de la relation client et anime des réseaux de partenaires.",
        "Le titulaire occupe des postes de chargé de clientèle, technico-commercial, animateur de "
        "réseau ou conseiller e-commerce.",
        "Relation client et négociation-vente ; relation client à distance et digitalisation ; "
        "relation client et animation de réseaux ; e-prospection et gestion de la relation client "
        "avec un CRM.",
    ),
    "bts_cg": _c(
        "bts", "BTS Comptabilité et gestion", "99021", "RNCP35521", (4, 5), 2, (1, 2),
        (("32663",), ("M1203",), ("314",)),
        "Former des collaborateurs comptables capables de traiter les opérations courantes, de "
        "préparer les déclarations fiscales et sociales et de produire les états de gestion d'une "
        "entreprise. L'apprenti travaille sur les progiciels utilisés en cabinet et en entreprise.",
        "Le titulaire exerce comme assistant comptable, gestionnaire de paie junior ou collaborateur "
        "de cabinet d'expertise comptable.",
        "Contrôle et traitement comptable des opérations commerciales ; contrôle et production de "
        "l'information financière ; gestion des obligations fiscales ; gestion des relations sociales ; "
        "analyse et prévision de l'activité ; système d'information comptable.",
    ),
    "bts_cpi": _c(
        "bts", "BTS Conception des produits industriels", "97340", "RNCP35490", (4, 5), 2, (1, 2),
        (("31668",), ("H1203",), ("200",)),
        "Former des techniciens de bureau d'études capables de concevoir et de modifier des "
        "produits mécaniques, en prenant en compte les contraintes de fabrication, de coût et "
        "d'environnement. L'apprenti modélise en CAO et participe aux revues de projet.",
        "Le titulaire travaille comme dessinateur-projeteur ou technicien en bureau d'études dans "
        "l'industrie mécanique, aéronautique ou automobile.",
        "Conception mécanique et CAO 3D ; dimensionnement et simulation ; matériaux et procédés ; "
        "cotation fonctionnelle ; gestion de projet industriel ; éco-conception.",
    ),
    "btsa_acse": _c(
        "bts", "BTSA Analyse, conduite et stratégie de l'entreprise agricole", "68755", "RNCP35850", (4, 5),
        2, (1, 2), (("21054",), ("A1301", "A1416"), ("210",)),
        "Former des responsables et conseillers d'entreprise agricole capables d'analyser le "
        "fonctionnement d'une exploitation, d'en piloter les ateliers de production et d'élaborer "
        "une stratégie de développement.",

        "Le titulaire peut s'installer comme chef d'exploitation ou devenir technicien conseil en organisme agricole.",
        "Gestion économique et financière de l'exploitation ; conduite des systèmes biotechniques ; "
        "stratégie et environnement de l'entreprise ; filières et marchés ; transition agroécologique.",
    ),
    "bts_mhr": _c(
        "bts", "BTS Management en hôtellerie-restauration", "95633", "RNCP35424", (4, 5), 2, (1, 2),
        (("42734",), ("G1402",), ("334",)),
        "Former de futurs managers capables de piloter la production culinaire, le service ou "
        "l'hébergement d'un établissement, d'encadrer une équipe et de contribuer à sa performance "
        "commerciale.",
        "Le titulaire débute comme assistant de direction, maître d'hôtel, chef de réception ou "
        "responsable de production.",
        "Management de l'entreprise hôtelière ; production culinaire ou service en restauration ; "
        "hébergement et revenue management ; sciences en hôtellerie-restauration ; deux langues vivantes.",
    ),
    "bts_gtla": _c(
        "bts", "BTS Gestion des transports et logistique associée", "98231", "RNCP35364", (4, 5), 2, (1, 2),
        (("31778",), ("N1301",), ("311",)),
        "Former des organisateurs de transport capables de concevoir des opérations de transport "
        "de marchandises et de logistique, nationales et internationales, en optimisant coûts, "
        "délais et impact environnemental.",
        "Le titulaire exerce comme affréteur, agent de transit, exploitant transport ou responsable de quai.",
        "Mise en œuvre des opérations de transport et de prestations logistiques ; conception "
        "d'opérations ; analyse de la performance ; pérennisation de l'activité ; deux langues "
        "vivantes appliquées au transport.",
    ),
    "bts_electrotechnique": _c(
        "bts", "BTS Électrotechnique", "97466", "RNCP35345", (4, 5), 2, (1, 2),
        (("24054",), ("H1202",), ("255",)),
        "Former des techniciens supérieurs capables d'étudier, de réaliser et de mettre en service "
        "des installations électriques industrielles et tertiaires, y compris les dispositifs de "
        "production d'énergie renouvelable.",
        "Le titulaire travaille comme chargé d'affaires, technicien de bureau d'études ou "
        "technicien de maintenance électrique.",
        "Étude et dimensionnement d'installations ; distribution de l'énergie ; automatismes et "
        "réseaux industriels ; efficacité énergétique ; conduite de chantier électrique.",
    ),
    "but_gea": _c(
        "but",
        "BUT Gestion des entreprises et des administrations parcours gestion comptable, fiscale et financière",
        "107244", "RNCP35366", (4, 6), 3, (2, 3), (("32663",), ("M1203",), ("314",)),
        "Former des cadres intermédiaires de la gestion capables de tenir la comptabilité, "
        "d'établir les déclarations fiscales et d'analyser la situation financière d'une "
        "organisation. En apprentissage, l'alternant prend en charge des dossiers complets en "
        "cabinet ou en service comptable.",
        "Le diplômé exerce comme collaborateur comptable, contrôleur de gestion junior ou "
        "gestionnaire financier, et peut poursuivre vers le DCG ou un master.",
        "Comptabilité approfondie et consolidation ; fiscalité des entreprises ; analyse financière ; "
        "contrôle de gestion ; droit des sociétés ; outils numériques de gestion.",
    ),
    "but_info": _c(
        "but", "BUT Informatique parcours réalisation d'applications : conception, développement, validation",
        "107288", "RNCP35478", (4, 6), 3, (1, 2, 3), (("31054",), ("M1805",), ("326",)),
        "Former des développeurs capables de concevoir, programmer, tester et maintenir des "
        "applications web, mobiles et métier, en équipe et selon des méthodes agiles.",
        "Le diplômé occupe des postes de développeur d'applications, analyste programmeur ou "
        "testeur, et peut poursuivre en master ou en école d'ingénieurs.",
        "Programmation orientée objet ; développement web et mobile ; bases de données ; "
        "qualité et tests ; architecture logicielle ; gestion de projet agile ; anglais technique.",
    ),
    "but_gmp": _c(
        "but", "BUT Génie mécanique et productique parcours innovation pour l'industrie", "107312",
        "RNCP35402", (4, 6), 3, (2, 3), (("23654",), ("H1206",), ("251",)),
        "Former des techniciens supérieurs capables de concevoir des produits mécaniques, d'en "
        "industrialiser la fabrication et d'améliorer les processus de production.",
        "Le diplômé travaille en bureau d'études, en méthodes ou en production, dans les secteurs "
        "aéronautique, automobile ou des biens d'équipement.",
        "Conception et dimensionnement ; industrialisation et fabrication additive ; métrologie et "
        "qualité ; amélioration continue ; gestion de projets d'innovation.",
    ),
    "lp_dev": _c(
        "lp",
        "Licence professionnelle Métiers de l'informatique : conception, développement et test de logiciels",
        "106452", "RNCP30100", (5, 6), 1, (1,), (("31054",), ("M1805",), ("326",)),
        "Former des développeurs capables de participer à la conception, au développement et aux "
        "tests de logiciels au sein d'une équipe projet. La formation met l'accent sur les "
        "architectures web modernes et l'industrialisation du développement.",
        "Le diplômé exerce comme développeur full stack, intégrateur ou testeur logiciel.",
        "Développement web côté serveur et côté client ; tests automatisés et intégration continue ; "
        "bases de données ; conception orientée objet ; méthodes agiles.",
    ),
    "lp_commerce": _c(
        "lp", "Licence professionnelle Commerce et distribution parcours management de rayon", "106417",
        "RNCP29736", (5, 6), 1, (1,), (("34566",), ("D1502",), ("312",)),
        "Former des managers de rayon capables de piloter la performance commerciale d'un rayon, "
        "de gérer les approvisionnements et d'animer une équipe dans la grande distribution.",

        "Le diplômé occupe des postes de manager de rayon, chef de secteur ou responsable de magasin de proximité.",
        "Gestion commerciale et marchandisage ; pilotage des indicateurs ; management d'équipe ; "
        "droit du travail ; approvisionnement et logistique de magasin.",
    ),
    "lp_industrie": _c(
        "lp", "Licence professionnelle Métiers de l'industrie : conception et amélioration de processus",
        "106533", "RNCP29964", (5, 6), 1, (1,), (("23654",), ("H1206", "H1402"), ("200",)),
        "Former des responsables de projets d'amélioration continue capables d'analyser un "
        "processus industriel, de proposer des améliorations et de conduire leur mise en œuvre "
        "avec les équipes de production. La formation s'appuie sur les démarches lean et sur les "
        "outils de l'industrie du futur.",
        "Le diplômé exerce comme technicien méthodes, animateur lean ou chef de projet industrialisation.",
        "Lean management et résolution de problèmes ; analyse de la valeur ; qualité et statistiques "
        "industrielles ; jumeau numérique et supervision ; conduite du changement.",
    ),
    "licence_eg": _c(
        "licence", "Licence Économie et gestion parcours gestion des organisations", "105811", "RNCP24438",
        (4, 6), 3, (3,), (("32654",), ("M1402",), ("310",)),
        "Apporter une formation générale en économie et en gestion, puis, en troisième année, une "
        "spécialisation en gestion des organisations. La troisième année est ouverte à "
        "l'apprentissage pour les étudiants ayant validé deux années de licence ou un diplôme de niveau 5.",
        "Le diplômé peut intégrer un master en gestion ou occuper des fonctions d'assistant de "
        "gestion ou de chargé de mission.",
        "Contrôle de gestion ; gestion des ressources humaines ; marketing ; finance d'entreprise ; "
        "stratégie ; méthodologie de la mission en entreprise.",
    ),
    "tp_paie": _c(
        "tp", "Titre professionnel Gestionnaire de paie", "89354", "RNCP35155", (4, 5), 1, (1,),
        (("32688",), ("M1501",), ("315",)),
        "Former des gestionnaires de paie capables d'assurer la tenue et le suivi du dossier social "
        "des salariés, d'établir les bulletins de paie et les déclarations sociales nominatives.",
        "Le titulaire exerce comme gestionnaire de paie en entreprise, en cabinet comptable ou chez "
        "un prestataire de paie externalisée.",
        "Droit du travail appliqué à la paie ; établissement des bulletins ; DSN et déclarations "
        "sociales ; logiciels de paie ; relation avec les organismes sociaux.",
        months=13,
    ),
    "tp_sec_compta": _c(
        "tp", "Titre professionnel Secrétaire comptable", "88473", "RNCP37829", (3, 4), 1, (1,),
        (("35054",), ("M1608",), ("324",)),
        "Former des secrétaires comptables capables d'assurer les travaux administratifs courants "
        "et la comptabilité quotidienne d'une petite entreprise.",
        "Le titulaire occupe un poste de secrétaire comptable, d'assistant administratif et "
        "comptable ou d'aide-comptable.",
        "Traitement du courrier et des documents ; accueil et communication ; saisie comptable ; "
        "préparation de la paie ; suivi de trésorerie ; bureautique.",
        months=12,
    ),
    "tp_ctrm": _c(
        "tp", "Titre professionnel Conducteur du transport routier de marchandises sur porteur", "85219",
        "RNCP35291", (0, 3), 1, (1,), (("31815",), ("N4101",), ("311",)),
        "Former des conducteurs routiers capables d'assurer en sécurité le transport de marchandises "
        "sur porteur, en respectant la réglementation sociale européenne et les règles de "
        "chargement.",
        "Le titulaire obtient le permis C et la qualification initiale de conducteur, et travaille "
        "en entreprise de transport ou de messagerie.",
        "Conduite sur porteur et permis C ; réglementation sociale et chronotachygraphe ; chargement "
        "et arrimage ; prévention des risques ; relation client à la livraison.",
        months=9,
    ),
    "tp_dwwm": _c(
        "tp", "Titre professionnel Développeur web et web mobile", "93754", "RNCP37674", (4, 5), 1, (1,),
        (("31088",), ("M1805",), ("326",)),
        "Former des développeurs capables de réaliser des applications web et web mobiles, "
        "de la maquette à la mise en production, en respectant les normes d'accessibilité et de "
        "sécurité.",

        "Le titulaire exerce comme développeur web, intégrateur ou développeur front-end en agence ou en entreprise.",
        "Maquettage et interfaces ; développement front-end et back-end ; bases de données "
        "relationnelles ; sécurité des applications ; déploiement et gestion de version.",
        months=12,
    ),
    "deas": _c(
        "de", "Diplôme d'État d'aide-soignant", "93114", "RNCP35830", (0, 4), 2, (1, 2),
        (("43436",), ("J1501",), ("331",)),
        "Former des aides-soignants capables d'accompagner la personne dans les activités de sa vie "
        "quotidienne, de réaliser des soins adaptés à son état de santé et de collaborer au projet "
        "de soins au sein d'une équipe pluriprofessionnelle.",
        "Le diplômé exerce en établissement de santé, en EHPAD, en service de soins infirmiers à "
        "domicile ou en structure médico-sociale.",
        "Accompagnement de la personne ; évaluation de l'état clinique ; soins en situation aiguë ; "
        "mobilisation et prévention des risques ; relation et communication ; hygiène.",
        months=18,
    ),
    "deaes": _c(
        "de", "Diplôme d'État d'accompagnant éducatif et social", "92876", "RNCP36004", (0, 3), 2, (1, 2),
        (("44030",), ("K1302",), ("332",)),
        "Former des accompagnants capables d'aider au quotidien des personnes en situation de "
        "handicap, âgées ou dépendantes, en favorisant leur autonomie et leur participation à la "
        "vie sociale.",
        "Le diplômé travaille à domicile, en établissement médico-social ou en accompagnement de la "
        "scolarité d'enfants en situation de handicap.",
        "Accompagnement dans les actes de la vie quotidienne ; animation de la vie sociale ; travail "
        "en équipe et coordination ; prévention de la maltraitance.",
        months=18,
    ),
    "master_mae": _c(
        "master", "Master Management et administration des entreprises", "108120", "RNCP34039", (6, 7), 2,
        (1, 2), (("32054",), ("M1302",), ("310",)),
        "Former des managers polyvalents capables de piloter une entité ou un projet transverse, "
        "en mobilisant la stratégie, la finance, le marketing et la gestion des ressources "
        "humaines. Le master accueille des profils scientifiques, techniques ou juridiques.",
        "Le diplômé accède à des postes de chef de projet, responsable de business unit ou dirigeant de PME.",
        "Stratégie et pilotage de la performance ; finance d'entreprise ; marketing ; management des "
        "hommes et des organisations ; droit des affaires ; conduite du changement.",
    ),
    "master_info": _c(
        "master", "Master Informatique parcours génie logiciel", "108233", "RNCP34126", (6, 7), 2, (2,),
        (("31054",), ("M1805", "M1802"), ("326",)),
        "Former des ingénieurs logiciels capables de concevoir et de faire évoluer des systèmes "
        "logiciels complexes, d'en garantir la qualité et de conduire des équipes de développement. "
        "La seconde année est ouverte à l'apprentissage.",

        "Le diplômé exerce comme architecte logiciel, ingénieur d'études et développement ou responsable technique.",
        "Architecture logicielle et microservices ; vérification et test ; génie des exigences ; "
        "DevOps et cloud ; management de projet informatique.",
    ),
    "titre_mdc": _c(
        "titre", "Manager du développement commercial", "110452", "RNCP36145", (5, 7), 2, (1, 2),
        (("34554",), ("D1406", "M1707"), ("312",)),
        "Former des managers commerciaux capables de définir une stratégie de développement, de "
        "piloter une force de vente et de conduire des négociations complexes, en France et à "
        "l'international.",

        "Le titulaire occupe des postes de responsable grands comptes, directeur des ventes ou business developer.",
        "Stratégie commerciale et marketing ; négociation complexe ; management de la force de "
        "vente ; pilotage de la performance ; développement international ; transformation digitale.",
    ),
}

MODALITIES: dict[str, tuple[bool, bool, bool]] = {
    # (formation continue, contrat de professionnalisation, contrat d'apprentissage)
    "CA": (False, False, True),
    "CA+CP": (False, True, True),
    "CP": (False, True, False),
    "FC+CA": (True, False, True),
    "NONE": (False, False, False),
}

CONDITIONS: dict[str, str] = {
    "CA": (
        "Avoir entre 16 et 29 ans révolus à la signature du contrat (sans limite d'âge pour les "
        "personnes en situation de handicap) et avoir signé un contrat d'apprentissage."
    ),
    "CA+CP": (
        "Contrat d'apprentissage : 16 à 29 ans révolus. Contrat de professionnalisation : 16 à 25 ans, "
        "ou demandeur d'emploi de 26 ans et plus."
    ),
    "CP": "Être titulaire d'un contrat de professionnalisation avec une entreprise d'accueil.",
    "FC+CA": (
        "Apprentis de 16 à 29 ans ; salariés et demandeurs d'emploi sur dossier, avec financement "
        "à étudier avec le centre."
    ),
}

SUFFIX_CA = "(Contrat d'apprentissage possible)"
SUFFIX_CA_TYPO = "(Contrat d’apprentissage possible)"
SUFFIX_CP = "(Contrat de professionnalisation possible)"
SUFFIX_BOTH = "(Contrat de professionnalisation ou Apprentissage possible)"

LONG_TITLE = (
    "Licence professionnelle Métiers de l'industrie : conception et amélioration de processus "
    "et procédés industriels, parcours pilotage de projets d'amélioration continue, lean management "
    "et transformation numérique des ateliers de production dans les PME et ETI des filières "
    "aéronautique et spatiale"
)

DISTANCE_RHYTHM = (
    "Formation 100 % à distance : ressources en ligne disponibles en permanence, classe virtuelle "
    "chaque mardi de 9 h à 12 h et suivi individuel par un tuteur pédagogique."
)


# --------------------------------------------------------------------------------------------
# Offer specifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    org: str  # responsable
    cert: str
    mod: str = "CA"
    formateur: str | None = None
    status: str = "validee"
    years: tuple[int, ...] | None = None
    places: tuple[str, ...] = ()  # site keys; empty = the formateur's own site
    cohorts: tuple[int, ...] = (2026, 2027)  # school-calendar start years
    starts: tuple[str, ...] = ()  # rolling entries (ISO dates), instead of cohorts
    mode: str = "presentiel"
    title: str | None = None
    suffix: str | None = None
    edits: tuple[tuple[int, str, object], ...] = ()  # (session index, key, value)
    contacts: int = 1
    links: int = 1
    conditions: bool = True
    max_sessions: int = 4


SPECS: tuple[Spec, ...] = (
    # CFA du Bâtiment de la Gironde (Mérignac, site de Libourne)
    Spec(
        "btp33", "cap_macon", places=("merignac_btp", "libourne_btp"), contacts=2,
        edits=((0, "recruitment", "ferme"),),
    ),
    Spec("btp33", "cap_menuisier", formateur="btp33_lib", conditions=False),
    Spec("btp33", "cap_electricien", mod="CA+CP", suffix=SUFFIX_CA),  # stale mention (now CA + CP)
    # CFA Agricole des Landes (Mont-de-Marsan, site de Dax)
    Spec("agri40", "capa_jardinier", formateur="agri40_dax"),
    Spec("agri40", "bacpro_cgea", contacts=2),
    Spec("agri40", "btsa_acse", mod="CA+CP"),
    Spec("agri40", "bp_amenagements", mod="FC+CA", places=("mdm_agri", "dax_agri"), cohorts=(2026,)),
    # The approved pair: CFA hors les murs responsable, the university's IUT teaches.
    Spec("cfau", "lp_dev", formateur="iut", cohorts=(2026, 2027, 2028), mode="mixte", contacts=2, links=2),
    # Université Garonne-Océan and its IUT (same SIREN, other NIC)
    Spec("univ", "but_gea", formateur="iut", places=("pessac_iut", "agen_iut")),
    Spec("univ", "but_info", formateur="iut", cohorts=(2026,)),
    Spec("univ", "but_gmp", formateur="iut", status="publiee"),
    Spec("univ", "licence_eg", cohorts=(2026, 2027, 2028), links=2),
    Spec("univ", "master_mae", mod="CA+CP", mode="mixte", suffix=SUFFIX_BOTH),
    Spec(
        "univ", "master_info", cohorts=(2026, 2027, 2028), edits=((2, "end", None), (2, "recruitment", None)),
    ),
    Spec("univ", "lp_commerce", formateur="iut_agen", conditions=False),
    Spec("univ", "lp_industrie", formateur="iut", title=LONG_TITLE),
    # CFA des Métiers de la Haute-Vienne (Limoges)
    Spec("cma87", "cap_boulanger", contacts=2),
    Spec("cma87", "bp_boulanger"),
    Spec("cma87", "cap_coiffure", status="publiee"),
    Spec("cma87", "bp_coiffure", status="archivee", cohorts=(2026,), links=0),
    Spec("cma87", "cap_mv", suffix=SUFFIX_CA_TYPO),
    # CFA Commerce et Services du Béarn (Pau)
    Spec("com64", "bts_mco", suffix=SUFFIX_CA, links=2),
    Spec("com64", "bts_ndrc", mod="CA+CP", contacts=2),
    Spec("com64", "bacpro_mcv", cohorts=(2026,)),
    Spec("com64", "bts_cg", mode="distance", edits=((1, "recruitment", "suspendu"),)),
    Spec("com64", "tp_sec_compta", mod="CP", starts=("2026-09-21", "2027-01-18", "2027-09-20")),
    # Centre de Formation Professionnelle Côte Basque (Bayonne, site d'Anglet)
    Spec("basque", "tp_paie", mod="FC+CA", starts=("2026-10-05", "2027-03-01")),
    Spec(
        "basque", "tp_dwwm", mod="CA+CP", formateur="basque_anglet", mode="mixte",
        starts=("2026-09-14", "2027-02-01", "2027-09-13"),
    ),
    Spec("basque", "cap_aepe", mod="CP", cohorts=(2026,), suffix=SUFFIX_CP),
    # Pôle Formation Industrie Vienne (Poitiers CEDEX 9, Châtellerault)
    Spec("ind86", "bacpro_mspc", cohorts=(2026,), places=("poitiers_ind_cedex", "chatellerault_ind")),
    Spec("ind86", "bts_cpi", formateur="ind86_chat", contacts=2),
    Spec("ind86", "bts_electrotechnique", suffix=SUFFIX_CA),
    Spec("ind86", "cap_electricien", status="brouillon", cohorts=(2027,), links=0),
    # CFA des Métiers de la Mer et du Nautisme (La Rochelle + antenne d'Ajaccio en partenariat)
    Spec("mer17", "cap_plaisance", places=("larochelle_mer", "ajaccio_mer"), contacts=2),
    # CFA Hôtellerie-Restauration du Périgord (Périgueux, site de Bergerac)
    Spec("hot24", "cap_cuisine", places=("perigueux_hot", "bergerac_hot")),
    Spec("hot24", "cap_csr", formateur="hot24_berg", conditions=False),
    Spec("hot24", "bts_mhr", mod="CA+CP", contacts=2),
    # Institut de Formation Sanitaire et Social du Lot-et-Garonne (Agen)
    Spec("san47", "deas", starts=("2026-09-07", "2027-01-11", "2027-09-06"), contacts=2),
    Spec("san47", "deaes", starts=("2026-10-05",)),
    Spec("san47", "cap_aepe", status="publiee"),
    # CFA Transport et Logistique des Deux-Sèvres (Niort)
    Spec("log79", "bacpro_logistique", conditions=False),
    Spec("log79", "bts_gtla", edits=((1, "start", "2027-09"),)),
    Spec("log79", "tp_ctrm", mod="FC+CA", starts=("2026-09-07", "2027-01-04", "2027-05-03")),
    # École Supérieure de Commerce Charente-Atlantique (Angoulême, campus de Cognac)
    Spec("esc16", "titre_mdc", mod="CA+CP", contacts=2),
    Spec("esc16", "bts_mco", formateur="esc16_cognac", status="supprimee"),
    Spec("esc16", "tp_paie", mod="CP", mode="distance", starts=("2026-11-02", "2027-04-05")),
    # CFA Interprofessionnel de la Corrèze (Tulle, site de Brive)
    Spec("cfai19", "cap_cuisine", places=("tulle_cfai", "brive_cfai"), cohorts=(2026,)),
    Spec("cfai19", "cap_mv", formateur="cfai19_brive", status="archivee", cohorts=(2026,)),
    Spec("cfai19", "tp_sec_compta", mode="distance", starts=("2026-09-28", "2027-02-22")),
    # Maison Familiale Rurale de la Creuse (Guéret)
    Spec("mfr23", "bacpro_cgea", years=(1, 2, 3), cohorts=(2026,), contacts=2),
)

# The deliberately bad offers: a clean base spec plus one defect (applied in `_bad_offers`).
BAD_SPECS: tuple[tuple[str, Spec], ...] = (
    ("SIRET_CHECKSUM", Spec("mfr23", "capa_jardinier", cohorts=(2026,))),
    ("SESSION_END_BEFORE_START", Spec("log79", "bts_mco")),
    ("DATE_IMPOSSIBLE", Spec("san47", "tp_sec_compta", starts=("2026-09-14", "2027-01-04"))),
    ("UAI_CHECK_LETTER", Spec("hot24", "bp_boulanger", cohorts=(2026,))),
    ("APPRENTICESHIP_YEARS_MISSING", Spec("mer17", "bts_cpi", cohorts=(2026,))),
    ("MODALITIES_NONE", Spec("cfai19", "bts_cg", mod="NONE", cohorts=(2026,))),
    ("RNCP_FORMAT", Spec("com64", "bts_gtla", cohorts=(2026,))),
)

# fmt: on

BAD_REFERENCE_BASE = 202604010000


def _bad_reference(index: int) -> str:
    return str(BAD_REFERENCE_BASE + index + 1)


BAD_OFFERS: dict[str, str] = {_bad_reference(i): code for i, (code, _spec) in enumerate(BAD_SPECS)}


# What real LHÉO consumers read (issue #7): hours in centre / in the company per year of the
# course (the rhythms above say the centre part), recruitment terms, and the back-office ids of
# the organisations that have one (the others get a numero derived from their SIRET).
FAMILY_HOURS: dict[str, tuple[int, int]] = {
    "cap": (420, 1187),
    "bacpro": (617, 990),
    "bp": (455, 1152),
    "bts": (675, 932),
    "but": (600, 1007),
    "lp": (450, 1157),
    "licence": (480, 1127),
    "tp": (560, 1047),
    "de": (385, 385),
    "master": (450, 1157),
    "titre": (500, 1107),
}
RECRUITMENT_TERMS = (
    "Dossier de candidature puis entretien individuel ; la signature d'un contrat avec un employeur vaut admission."
)
BACK_OFFICE_IDS: dict[str, str] = {
    "btp33": "OF-1042",
    "btp33_lib": "OF-1043",
    "agri40": "OF-0877",
    "cfau": "OF-2210",
    "univ": "OF-0153",
    "iut": "OF-0154",
    "cma87": "OF-0631",
    "hot24": "OF-1388",
    "log79": "OF-1702",
    "mfr23": "OF-0950",
}


def _consumer_fields(offer: dict[str, object], spec: Spec, cert: Certification, created: date) -> None:
    """Fill the optional fields consumers read; deterministic, from the spec and the certification."""
    centre, company = FAMILY_HOURS[cert.family]
    years = max(cert.duration, 1)
    offer["created_at"] = f"{created.isoformat()}T09:30:00+02:00"
    offer["hours"] = {"centre": centre * years, "company": company * years, "total": (centre + company) * years}
    offer["recruitment_perimeter"] = "departement" if cert.family in ("cap", "bp") else "region"
    offer["recruitment_terms"] = RECRUITMENT_TERMS
    if cert.months:  # rolling entries: the contract's length says more than the course's years
        offer["indicative_duration"] = f"{cert.months} mois"
    for key, organisation in ((spec.org, offer["responsable"]), (spec.formateur, offer.get("formateur"))):
        if key in BACK_OFFICE_IDS and isinstance(organisation, dict):
            organisation["id"] = BACK_OFFICE_IDS[key]
    sessions = offer["sessions"]
    assert isinstance(sessions, list)
    for index, session in enumerate(sessions):
        if index:  # later intakes were added to the offer afterwards, with their own dates
            session["created_at"] = f"{(created + timedelta(days=40 * index)).isoformat()}T14:00:00+01:00"
            session["updated_at"] = f"{(created + timedelta(days=40 * index + 6)).isoformat()}T16:15:00+01:00"


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def _place(site_key: str) -> dict[str, object]:
    site = SITES[site_key]
    data = site.address()
    if site.owner is not None:
        owner = ESTABLISHMENTS[site.owner]
        data["uai"] = owner.uai
        data["siret"] = owner.siret
    return data


def _session_dates(spec: Spec, cert: Certification, span: int) -> list[tuple[str, str]]:
    family = FAMILIES[cert.family]
    dates: list[tuple[str, str]] = []
    if spec.starts:
        for iso in spec.starts:
            start = date.fromisoformat(iso)
            end = _add_months(start, cert.months) - timedelta(days=3)
            dates.append((start.isoformat(), end.isoformat()))
        return dates
    for year in spec.cohorts:
        start = date(year, 9, family.start_day)
        end = date.fromisoformat(f"{year + span}-{family.end}")
        dates.append((start.isoformat(), end.isoformat()))
    return dates


def _sessions(spec: Spec, cert: Certification, years: list[int], refs: Iterator[str]) -> list[dict[str, object]]:
    responsable = ESTABLISHMENTS[spec.org]
    teacher_key = spec.formateur or spec.org
    span = len(years) if years else min(cert.duration, 2)
    distance = spec.mode == "distance"
    places: tuple[str | None, ...] = (None,) if distance else (spec.places or (ESTABLISHMENTS[teacher_key].site,))
    sessions: list[dict[str, object]] = []
    for start, end in _session_dates(spec, cert, span):
        for site_key in places:
            if len(sessions) >= spec.max_sessions:
                break
            session: dict[str, object] = {
                "reference": next(refs),
                "start": start,
                "end": end,
                "place": None if site_key is None else _place(site_key),
                "recruitment": "ouvert",
            }
            # Registration happens at the responsable (who signs the contract) when the session
            # is taught at a distance or on a site that is not the responsable's own.
            if site_key is None or SITES[site_key].owner != spec.org:
                session["registration_address"] = SITES[responsable.site].address()
            sessions.append(session)
    for index, key, value in spec.edits:
        sessions[index][key] = value
    return sessions


def _title(spec: Spec, cert: Certification) -> str:
    title = spec.title or cert.title
    return f"{title} {spec.suffix}" if spec.suffix else title


def _contacts(spec: Spec) -> list[dict[str, object]]:
    people = ESTABLISHMENTS[spec.org].people
    teacher = ESTABLISHMENTS[spec.formateur] if spec.formateur else None
    pool = list(people) + (list(teacher.people) if teacher else [])
    domain = ESTABLISHMENTS[spec.org].domain
    contacts: list[dict[str, object]] = []
    for index, person in enumerate(pool[: spec.contacts]):
        login = _ascii_fold(f"{person.first_name}.{person.last_name}").lower().replace(" ", "-")
        contacts.append(
            {
                "role": "referent_apprentissage" if index == 0 else "referent_pedagogique",
                "civility": person.civility,
                "last_name": person.last_name,
                "first_name": person.first_name,
                "phone": person.phone,
                "email": f"{login}@{domain}",
            }
        )
    return contacts


# What each certification prepares, as the ministries' catalogue names it (issue #8): the key
# prefix of CERTIFICATIONS gives the diploma type. CFD and MEF codes are invented but well
# formed (8 and 10 characters; a MEF ends with the duration then the year, `…21` = 2 years, 1st).
DIPLOMA_TYPES: tuple[tuple[str, str, str], ...] = (
    # (key prefix, diploma type, first 3 digits of the MEF; "" = no MEF: not an Affelnet diploma)
    ("capa_", "CAPA", "271"),
    ("cap_", "CAP", "241"),
    ("bacpro_cgea", "BAC PRO AGRICOLE", "276"),
    ("bacpro_", "BAC PRO", "247"),
    ("bp_", "BP", "254"),
    ("btsa_", "BTSA", ""),
    ("bts_", "BTS", ""),
    ("but_", "BUT", ""),
    ("lp_", "LICENCE PRO", ""),
    ("licence_", "LICENCE", ""),
    ("tp_", "TH", ""),
    ("titre_", "TH", ""),
    ("de", "DE", ""),
    ("master_", "MASTER", ""),
)
# End of validity: most certifications run well beyond the 2027 campaign; one has expired and
# one ends before 31 August 2028 (the campaign's deadline), to show the validity gate.
VALIDITY = {"cap_plaisance": "2026-08-31", "bts_cpi": "2028-06-30"}


def diploma_of(cert_key: str, cert: Certification) -> dict[str, object]:
    diploma_type, mef_prefix = next((kind, mef) for prefix, kind, mef in DIPLOMA_TYPES if cert_key.startswith(prefix))
    cfd = f"{cert.exit_level}{cert.duration}{int(cert.certifinfo) % 1_000_000:06d}"
    diploma: dict[str, object] = {"type": diploma_type, "cfd": cfd}
    if mef_prefix:
        diploma["mef"] = [f"{mef_prefix}{cfd[3:8]}{cert.duration}1"]
    diploma["valid_until"] = VALIDITY.get(cert_key, "2031-08-31")
    return diploma


def build_offer(spec: Spec, reference: str, created: date, refs: Iterator[str]) -> dict[str, object]:
    cert = CERTIFICATIONS[spec.cert]
    family = FAMILIES[cert.family]
    responsable = ESTABLISHMENTS[spec.org]
    fc, cp, ca = MODALITIES[spec.mod]
    years = list(spec.years or cert.years) if ca else []
    title = _title(spec, cert)
    links = [f"https://www.{responsable.domain}/formations/{_slug(spec.title or cert.title)}"]
    links.append(f"https://www.{responsable.domain}/apprentissage/candidater")
    offer: dict[str, object] = {
        "reference": reference,
        "status": spec.status,
        "title": title,
        "certifinfo": cert.certifinfo,
        "rncp": cert.rncp,
        "web_links": links[: spec.links],
        "modalities": {"formation_continue": fc, "contrat_professionnalisation": cp, "contrat_apprentissage": ca},
        "apprenticeship_years": years,
        "duration_years": cert.duration,
        "entry_level": cert.entry_level,
        "exit_level": cert.exit_level,
        "objective": cert.objective,
        "expected_results": (
            f"Obtention de la certification « {cert.title} », de niveau {cert.exit_level} du cadre "
            f"national des certifications professionnelles. {cert.results}"
        ),
        "content": f"{cert.content} {family.content_tail}",
        "rhythm": DISTANCE_RHYTHM if spec.mode == "distance" else family.rhythm,
        "alternance_rhythm": family.alternance,
    }
    if spec.conditions and spec.mod in CONDITIONS:
        offer["specific_conditions"] = CONDITIONS[spec.mod]
    offer["teaching_mode"] = spec.mode
    offer["formacode"] = list(cert.formacode)
    offer["nsf"] = list(cert.nsf)
    offer["rome"] = list(cert.rome)
    offer["responsable"] = responsable.organisation()
    if spec.formateur:
        offer["formateur"] = ESTABLISHMENTS[spec.formateur].organisation()
    offer["contacts"] = _contacts(spec)
    offer["sessions"] = _sessions(spec, cert, years, refs)
    offer["updated_at"] = f"{(created + timedelta(days=23)).isoformat()}T10:{created.day:02d}:00+01:00"
    _consumer_fields(offer, spec, cert, created)
    offer["diploma"] = diploma_of(spec.cert, cert)
    return offer


def _session_refs() -> Iterator[str]:
    value = 254068  # like the guide's `00254068`
    while True:
        yield f"{value:08d}"
        value += 7


def _good_offers(refs: Iterator[str]) -> list[dict[str, object]]:
    offers: list[dict[str, object]] = []
    for index, spec in enumerate(SPECS):
        created = date(2024, 9, 2) + timedelta(days=11 * index)
        reference = f"{created:%Y%m%d}{(4724 + 37 * index) % 10000:04d}"
        offers.append(build_offer(spec, reference, created, refs))
    return offers


def _wrong_check_digit(siret: str) -> str:
    return siret[:-1] + str((int(siret[-1]) + 1) % 10)


def _wrong_uai_letter(uai: str) -> str:
    letter = UAI_LETTERS[(UAI_LETTERS.index(uai[-1]) + 5) % 23]
    return uai[:-1] + letter


def _bad_offers(refs: Iterator[str]) -> list[dict[str, object]]:
    offers: list[dict[str, object]] = []
    for index, (code, spec) in enumerate(BAD_SPECS):
        created = date(2026, 4, 1)
        offer = build_offer(spec, _bad_reference(index), created, refs)
        sessions = offer["sessions"]
        responsable = offer["responsable"]
        assert isinstance(sessions, list) and isinstance(responsable, dict)
        if code == "SIRET_CHECKSUM":
            responsable["siret"] = _wrong_check_digit(str(responsable["siret"]))
        elif code == "SESSION_END_BEFORE_START":
            sessions[0]["start"], sessions[0]["end"] = "2026-09-01", "2026-06-30"
        elif code == "DATE_IMPOSSIBLE":
            sessions[0]["start"], sessions[0]["end"] = "2026-02-30", "2027-02-26"
        elif code == "UAI_CHECK_LETTER":
            responsable["uai"] = _wrong_uai_letter(str(responsable["uai"]))
        elif code == "APPRENTICESHIP_YEARS_MISSING":
            offer["apprenticeship_years"] = []
        elif code == "MODALITIES_NONE":
            pass  # built with mod="NONE": no modality, no apprenticeship year, no mention
        elif code == "RNCP_FORMAT":
            offer["rncp"] = "RNCP353641"
        else:  # pragma: no cover - guarded by BAD_SPECS
            raise AssertionError(code)
        offers.append(offer)
    return offers


def _broken_lines(refs: Iterator[str]) -> list[str]:
    """Line 1: valid JSON but not an Offer (`certifinfo` missing). Line 2: not JSON at all."""
    offer = build_offer(Spec("cma87", "cap_cuisine", cohorts=(2026,)), "202604150001", date(2026, 4, 15), refs)
    del offer["certifinfo"]
    malformed = '{"reference": "202604150002", "status": "validee", "title": "CAP Fleuriste", "certifinfo": '
    return [json.dumps(offer, ensure_ascii=False), malformed]


def build_samples() -> tuple[list[str], list[str]]:
    """Return (lines of sample_offers.jsonl, lines of sample_offers_broken.jsonl)."""
    refs = _session_refs()
    offers = _good_offers(refs) + _bad_offers(refs)
    lines = [json.dumps(offer, ensure_ascii=False) for offer in offers]
    broken = _broken_lines(refs)
    _check(lines, broken)
    return lines, broken


# --------------------------------------------------------------------------------------------
# Self-checks: fail loudly rather than ship a misleading demo file
# --------------------------------------------------------------------------------------------


def _check(lines: Sequence[str], broken: Sequence[str]) -> None:
    problems: list[str] = []
    parsed: list[Offer] = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(Offer.model_validate_json(line))
        except ValidationError as exc:
            problems.append(f"line {number} is not a valid Offer: {exc}")
    if problems:
        raise SystemExit("\n".join(problems))

    references = [offer.reference for offer in parsed]
    if references != sorted(references) or len(set(references)) != len(references):
        problems.append("formation references must be unique and sorted")
    if any(len(ref) != 12 or not ref.isdigit() for ref in references):
        problems.append("formation references must have 12 digits")
    session_refs = [session.reference for offer in parsed for session in offer.sessions]
    if len(set(session_refs)) != len(session_refs):
        problems.append("session references must be unique")
    if any(len(ref) != 8 or not ref.isdigit() for ref in session_refs):
        problems.append("session references must have 8 digits")

    for offer in parsed:
        bad = BAD_OFFERS.get(offer.reference)
        where = f"{offer.reference} ({offer.title[:40]})"
        if not offer.sessions:
            problems.append(f"{where}: no session")
        orgs = [offer.responsable] + ([offer.formateur] if offer.formateur else [])
        for org in orgs:
            if org is offer.responsable and bad == "SIRET_CHECKSUM":
                if _luhn_ok(org.siret):
                    problems.append(f"{where}: the bad SIRET passes Luhn")
                continue
            if not _luhn_ok(org.siret) or not _luhn_ok(org.siret[:9]):
                problems.append(f"{where}: SIRET {org.siret} fails Luhn")
            if org.uai and not _uai_ok(org.uai) and not (org is offer.responsable and bad == "UAI_CHECK_LETTER"):
                problems.append(f"{where}: UAI {org.uai} has a wrong letter")
            if org.nda is None or len(org.nda) != 11 or not org.nda.isdigit():
                problems.append(f"{where}: NDA {org.nda} is not 11 digits")
        for session in offer.sessions:
            place = session.place
            if place and place.siret and not _luhn_ok(place.siret):
                problems.append(f"{where}: place SIRET fails Luhn")
            if place and place.uai and not _uai_ok(place.uai):
                problems.append(f"{where}: place UAI has a wrong letter")
            for value in (session.start, session.end):
                if value and bad not in ("DATE_IMPOSSIBLE",) and not "2026" <= value[:4] <= "2029":
                    problems.append(f"{where}: date {value} outside 2026-2029")
            for line in place.lines if place else []:
                if len(line) > 50:
                    problems.append(f"{where}: address line longer than 50 characters")
        if offer.teaching_mode == "distance" and any(s.place for s in offer.sessions):
            problems.append(f"{where}: distance offer with a place")
        if offer.teaching_mode != "distance" and any(s.place is None for s in offer.sessions):
            problems.append(f"{where}: on-site offer without a place")
        ca = offer.modalities.contrat_apprentissage
        if bad is None and ca and not offer.apprenticeship_years:
            problems.append(f"{where}: apprenticeship without years")
        if not ca and offer.apprenticeship_years:
            problems.append(f"{where}: years without apprenticeship")
        if offer.duration_years and any(y > offer.duration_years for y in offer.apprenticeship_years):
            problems.append(f"{where}: apprenticeship year beyond the duration")
        if not 5 <= len(offer.certifinfo) <= 6 or not offer.certifinfo.isdigit():
            problems.append(f"{where}: Certifinfo {offer.certifinfo}")
        rncp = offer.rncp or ""
        if bad != "RNCP_FORMAT" and not (rncp.startswith("RNCP") and 4 <= len(rncp[4:]) <= 5):
            problems.append(f"{where}: RNCP {rncp}")
        if len(offer.title) > 300:
            problems.append(f"{where}: title longer than the form's 300 characters")
        if offer.formateur and offer.formateur.siret[:9] != offer.responsable.siret[:9]:
            pair = (offer.responsable.siret[:9], offer.formateur.siret[:9])
            if pair != APPROVED_PAIR:
                problems.append(f"{where}: unexpected formateur SIREN pair {pair}")

    if ESTABLISHMENTS["cfau"].siren != APPROVED_PAIR[0] or ESTABLISHMENTS["univ"].siren != APPROVED_PAIR[1]:
        problems.append("APPROVED_PAIR (and the module docstring) must be updated")
    long_titles = [o.title for o in parsed if len(o.title) > 255]
    if len(long_titles) != 1 or not 280 <= len(long_titles[0]) <= 300:
        problems.append(f"expected one title of about 290 characters, got {[len(t) for t in long_titles]}")
    statuses = [o.status.value for o in parsed if o.reference not in BAD_OFFERS]
    expected = {"publiee": 3, "brouillon": 1, "archivee": 2, "supprimee": 1}
    for status, count in expected.items():
        if statuses.count(status) != count:
            problems.append(f"expected {count} offers with status {status}, got {statuses.count(status)}")
    if not any(s.place and s.place.insee == "2A004" for o in parsed for s in o.sessions):
        problems.append("the Corsican place is missing")
    if sum(1 for o in parsed for s in o.sessions if s.place and s.place.cedex) < 2:
        problems.append("at least two CEDEX places are expected")
    if not any(s.end is None for o in parsed for s in o.sessions):
        problems.append("a session with an unknown end is expected")
    if not any(s.start == "2027-09" for o in parsed for s in o.sessions):
        problems.append("a month-only start is expected")

    if len(broken) != 2:
        problems.append("the broken file must hold two lines")
    else:
        try:
            Offer.model_validate_json(broken[0])
            problems.append("broken line 1 unexpectedly parses")
        except ValidationError as exc:
            if not any(err["loc"] == ("certifinfo",) and err["type"] == "missing" for err in exc.errors()):
                problems.append(f"broken line 1 fails for another reason: {exc}")
        try:
            json.loads(broken[1])
            problems.append("broken line 2 is valid JSON")
        except json.JSONDecodeError:
            pass
    if problems:
        raise SystemExit("sample generation failed:\n" + "\n".join(problems))


def write_samples(sample_path: Path = SAMPLE_PATH, broken_path: Path = BROKEN_PATH) -> tuple[int, int]:
    lines, broken = build_samples()
    sample_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    broken_path.write_text("".join(line + "\n" for line in broken), encoding="utf-8")
    return len(lines), len(broken)


def main() -> int:
    count, broken = write_samples()
    print(f"wrote {count} offers ({len(BAD_OFFERS)} deliberately bad) to {SAMPLE_PATH}")
    print(f"wrote {broken} broken lines to {BROKEN_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
