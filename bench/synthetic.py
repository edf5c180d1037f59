"""Synthetic apprenticeship offers for benchmarks, streamed to a JSON Lines file.

    python bench/synthetic.py N OUT.jsonl [--seed S]

Every offer is a valid `gateway.intake.models.Offer`: status `validee`, apprenticeship only,
3 sessions, Luhn-valid SIRETs and UAIs with the right check letter (built with the helpers of
`gateway.demo.make_samples`), unique 12-digit formation references (`9` + 11 digits, so they
never collide with the demo file) and unique 8-digit session references. Texts have realistic
lengths (objective ~650 characters, expected results ~300, content ~1,300, rhythm and
alternance ~150 each); with its three sessions, organisations and contacts one formation
renders to about 12.0 KB of indented LHÉO XML (10.6 KB before the consumer fields of issue #7).

The output is deterministic for a given (N, seed). Speed comes from building every reusable
piece once (organisations, places, contacts, text blocks): `generate_offers` only assembles
dicts per offer (nested dicts are therefore SHARED between yielded offers: treat them as
read-only), and `write_jsonl` goes through `iter_jsonl_lines`, which splices JSON fragments
encoded once up front; its lines are byte-identical to `json.dumps(offer, ensure_ascii=False,
separators=(",", ":"))` of the dicts (the tests check it).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.make_samples import (
    CERTIFICATIONS,
    FAMILIES,
    FAMILY_HOURS,
    SITES,
    Certification,
    _siren,
    _with_luhn_check_digit,
    _with_uai_check_letter,
    diploma_of,
)

DEFAULT_COUNT = 100_000
SESSIONS_PER_OFFER = 3
FORMATION_BASE = 900_000_000_000  # 12 digits
SESSION_BASE = 10_000_000  # 8 digits
MAX_COUNT = (100_000_000 - SESSION_BASE) // SESSIONS_PER_OFFER
# The three sessions (three successive intakes) take place at the main site: one LHÉO action.
PLACE_OF_SESSION = (0, 0, 0)

OBJECTIVE_CHARS = 650
RESULTS_CHARS = 300
CONTENT_CHARS = 1_300
SHORT_CHARS = 150

_OBJECTIVE_FILLERS = (
    "La formation prépare l'apprenti à exercer en autonomie dans des situations professionnelles variées, "
    "en entreprise artisanale comme dans des structures de taille plus importante.",
    "Elle développe le sens des responsabilités, la communication au sein d'une équipe et le respect "
    "strict des règles d'hygiène, de santé et de sécurité au travail.",
    "L'alternance entre le centre de formation et l'entreprise permet d'acquérir progressivement les "
    "gestes professionnels et de les mettre immédiatement en pratique.",
    "Le parcours intègre une sensibilisation au développement durable, à la sobriété énergétique et à la "
    "réduction des déchets dans l'exercice du métier.",
    "Une attention particulière est portée à la relation avec la clientèle, aux usages numériques du "
    "métier et à la qualité du travail rendu.",
    "Le maître d'apprentissage et le formateur référent se concertent régulièrement pour ajuster les "
    "objectifs aux activités réellement confiées dans l'entreprise.",
    "Les apprentis sont accompagnés dans la construction de leur projet professionnel et informés des "
    "possibilités de poursuite d'études et de spécialisation.",
    "La formation est accessible aux personnes en situation de handicap : un référent dédié étudie les "
    "aménagements nécessaires avec l'apprenti et l'employeur.",
)
_RESULTS_FILLERS = (
    "En cas de réussite partielle, les blocs de compétences validés sont acquis définitivement.",
    "Le taux de réussite et le taux d'insertion des promotions précédentes sont publiés sur le site du centre.",
    "La certification peut également être obtenue par la validation des acquis de l'expérience.",
    "Des équivalences et des passerelles existent avec d'autres certifications du même domaine.",
    "Les compétences acquises sont reconnues par les branches professionnelles du secteur.",
)
_CONTENT_FILLERS = (
    "Module d'accueil et d'intégration : présentation du parcours, droits et devoirs de l'apprenti, "
    "outils numériques du centre et méthodes de travail.",
    "Enseignements professionnels en atelier ou en plateau technique, par petits groupes, avec des mises "
    "en situation reproduisant les conditions réelles de l'entreprise.",
    "Suivi en entreprise : au moins deux visites par an du formateur référent, livret d'apprentissage "
    "numérique et bilans intermédiaires avec le maître d'apprentissage.",
    "Prévention des risques professionnels : gestes et postures, sauveteur secouriste du travail, "
    "utilisation des équipements de protection individuelle.",
    "Communication professionnelle : expression écrite et orale, comptes rendus d'activité, échanges "
    "avec la clientèle et avec les autres corps de métier.",
    "Outils numériques : logiciels métier, recherche documentaire, sécurité informatique et "
    "protection des données personnelles.",
    "Évaluations en cours de formation et examens blancs, avec une préparation spécifique aux épreuves "
    "orales et pratiques de la certification.",
    "Projet de fin de parcours conduit en lien avec l'entreprise, présenté devant un jury composé de "
    "formateurs et de professionnels.",
    "Ouverture européenne : possibilité de mobilité de courte durée dans une entreprise partenaire à "
    "l'étranger, avec un accompagnement linguistique.",
    "Accompagnement personnalisé : remise à niveau, soutien méthodologique et aide à la recherche de "
    "logement ou de solutions de transport.",
)
_SHORT_FILLERS = (
    "Calendrier de l'alternance remis à la signature du contrat.",
    "Les congés sont pris pendant les périodes en entreprise.",
    "Le rythme peut être adapté en accord avec l'employeur.",
    "Des cours à distance complètent les semaines en centre.",
)
_MODALITIES: dict[str, bool] = {
    "formation_continue": False,
    "contrat_professionnalisation": False,
    "contrat_apprentissage": True,
}
_UPDATED_AT = "2026-03-02T09:00:00+01:00"
_CREATED_AT = "2025-11-17T10:30:00+01:00"
_TAIL = f'],"updated_at":"{_UPDATED_AT}","created_at":"{_CREATED_AT}"}}'.encode()
_RECRUITMENT_TERMS = "Dossier de candidature, entretien de motivation et recherche d'un employeur accompagnée."
_NAME_KINDS = (
    "CFA des Métiers",
    "CFA Interprofessionnel",
    "Centre de formation d'apprentis",
    "Campus des métiers",
    "École de production",
    "Institut de formation en alternance",
)
_STREETS = (
    "rue des Artisans",
    "avenue de la République",
    "boulevard des Pyrénées",
    "rue du Commerce",
    "allée des Vignes",
    "chemin de la Forge",
    "rue Jean-Jaurès",
    "avenue du Maréchal-Foch",
    "place du Marché",
    "rue des Écoles",
)
_FIRST_NAMES = ("Camille", "Julien", "Nathalie", "Thomas", "Élodie", "Laurent", "Inès", "Mathieu", "Sarah")
_LAST_NAMES = ("Dupuy", "Lacoste", "Moreau", "Etcheverry", "Faure", "Bernard", "Roussel", "Lagarde", "Vidal")


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


@dataclass(frozen=True, slots=True)
class _CertBlock:
    """The certification-dependent part of an offer, as dict values and as pre-encoded JSON."""

    head: dict[str, object]  # title, certifinfo, rncp
    body: dict[str, object]  # modalities ... rome
    span: int  # years of a session (= years open to apprenticeship)
    end: str  # month-day of the session end
    head_json: bytes  # UTF-8, without the braces
    body_json: bytes


@dataclass(frozen=True, slots=True)
class _Org:
    """An organisation with its places and contacts, as dict values and as pre-encoded JSON."""

    party: dict[str, object]  # responsable, contacts
    places: list[dict[str, object]]
    domain: str
    party_json: bytes  # UTF-8, without the braces
    places_json: list[bytes]


def _grow(base: str, fillers: Sequence[str], target: int, rng: random.Random) -> str:
    """`base` followed by shuffled filler sentences until about `target` characters."""
    parts = [base]
    length = len(base)
    pool = list(fillers)
    rng.shuffle(pool)
    index = 0
    while length < target - 60:
        sentence = pool[index % len(pool)]
        index += 1
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)


def _cert_blocks(rng: random.Random, variants: int = 3) -> list[_CertBlock]:
    blocks: list[_CertBlock] = []
    for key, cert in CERTIFICATIONS.items():
        family = FAMILIES[cert.family]
        for _ in range(variants):
            block = _block(cert, family.rhythm, family.alternance, family.content_tail, family.end, rng)
            blocks.append(_with_diploma(block, diploma_of(key, cert)))
    return blocks


def _block(cert: Certification, rhythm: str, alternance: str, tail: str, end: str, rng: random.Random) -> _CertBlock:
    results = (
        f"Obtention de la certification « {cert.title} », de niveau {cert.exit_level} du cadre national "
        f"des certifications professionnelles. {cert.results}"
    )
    head: dict[str, object] = {"title": cert.title, "certifinfo": cert.certifinfo, "rncp": cert.rncp}
    body: dict[str, object] = {
        "modalities": _MODALITIES,
        "apprenticeship_years": list(cert.years),
        "duration_years": cert.duration,
        "entry_level": cert.entry_level,
        "exit_level": cert.exit_level,
        "objective": _grow(cert.objective, _OBJECTIVE_FILLERS, OBJECTIVE_CHARS, rng),
        "expected_results": _grow(results, _RESULTS_FILLERS, RESULTS_CHARS, rng),
        "content": _grow(f"{cert.content} {tail}", _CONTENT_FILLERS, CONTENT_CHARS, rng),
        "rhythm": _grow(rhythm, _SHORT_FILLERS, SHORT_CHARS, rng),
        "alternance_rhythm": _grow(alternance + ".", _SHORT_FILLERS, SHORT_CHARS, rng),
        "teaching_mode": "presentiel",
        "formacode": list(cert.formacode),
        "nsf": list(cert.nsf),
        "rome": list(cert.rome),
        # Issue #7: what real consumers read (hours from the family's rhythm, recruitment).
        "hours": _hours(cert),
        "recruitment_perimeter": "region",
        "recruitment_terms": _RECRUITMENT_TERMS,
    }
    return _CertBlock(
        head=head,
        body=body,
        span=len(cert.years),
        end="06-30" if cert.family in ("tp", "de") else end,
        head_json=_ENCODE(head)[1:-1].encode(),
        body_json=_ENCODE(body)[1:-1].encode(),
    )


def _hours(cert: Certification) -> dict[str, int]:
    centre, company = FAMILY_HOURS[cert.family]
    years = max(cert.duration, 1)
    return {"centre": centre * years, "company": company * years, "total": (centre + company) * years}


def _organisations(rng: random.Random, count: int = 400) -> list[_Org]:
    towns = [site for site in SITES.values() if site.insee and not site.insee.startswith("2A")]
    orgs: list[_Org] = []
    sirens: set[str] = set()
    for index in range(count):
        town = towns[index % len(towns)]
        dept = town.insee[:2] if town.insee else "33"
        while True:
            siren = _siren(f"{rng.randrange(10_000_000, 100_000_000)}")
            if siren not in sirens:
                sirens.add(siren)
                break
        name = f"{_NAME_KINDS[index % len(_NAME_KINDS)]} de {town.city} n° {index + 1}"
        domain = f"cfa-{index + 1:04d}.example"
        street = f"{rng.randrange(1, 200)} {rng.choice(_STREETS)}"
        address: dict[str, object] = {
            "lines": [street],
            "postcode": town.postcode,
            "city": town.city,
            "insee": town.insee,
        }
        uai = _with_uai_check_letter(f"0{dept}{rng.randrange(0, 10_000):04d}")
        siret = _with_luhn_check_digit(f"{siren}{rng.randrange(1, 100):04d}")
        organisation: dict[str, object] = {
            "siret": siret,
            "name": name,
            "legal_name": f"ASSOCIATION {name.upper()}",
            "nda": f"75{dept}{rng.randrange(0, 10_000_000):07d}",
            "uai": uai,
            "address": address,
            "phone": f"05 {rng.randrange(10, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)} 00",
            "email": f"contact@{domain}",
            "web": f"https://www.{domain}/",
        }
        if index % 2 == 0:  # half the organisations carry their back-office id (issue #7)
            organisation["id"] = f"OF-{index + 1:05d}"
        places: list[dict[str, object]] = []
        for site_index in range(3):
            site_siret = _with_luhn_check_digit(f"{siren}{100 + site_index:04d}")
            site_town = towns[(index + site_index * 7) % len(towns)]
            places.append(
                {
                    "name": f"{name} – site {site_index + 1}",
                    "lines": [f"{rng.randrange(1, 200)} {rng.choice(_STREETS)}", "Bâtiment A"],
                    "postcode": site_town.postcode,
                    "city": site_town.city,
                    "insee": site_town.insee,
                    "latitude": site_town.latitude,
                    "longitude": site_town.longitude,
                    "uai": uai if site_index == 0 else _with_uai_check_letter(f"0{dept}{rng.randrange(0, 10_000):04d}"),
                    "siret": siret if site_index == 0 else site_siret,
                }
            )
        contacts: list[dict[str, object]] = []
        for contact_index in range(2):
            first = rng.choice(_FIRST_NAMES)
            last = rng.choice(_LAST_NAMES)
            contacts.append(
                {
                    "role": "referent_apprentissage",
                    "civility": "Mme" if contact_index else "M.",
                    "last_name": last,
                    "first_name": first,
                    "phone": f"05 {rng.randrange(10, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)} 10",
                    "email": f"apprentissage{contact_index + 1}@{domain}",
                }
            )
        party: dict[str, object] = {"responsable": organisation, "contacts": contacts}
        places_json = [_ENCODE(place).encode() for place in places]
        orgs.append(_Org(party, places, domain, _ENCODE(party)[1:-1].encode(), places_json))
    return orgs


def _with_diploma(block: _CertBlock, diploma: dict[str, object]) -> _CertBlock:
    """What the offer prepares (issue #8): type, CFD, MEF, end of validity, as in the demo data."""
    body = {**block.body, "diploma": diploma}
    return _CertBlock(block.head, body, block.span, block.end, block.head_json, _ENCODE(body)[1:-1].encode())


def _picks(n: int, seed: int) -> Iterator[tuple[int, _CertBlock, _Org]]:
    """The random plan shared by the dict and the JSON Lines paths: (index, block, organisation)."""
    if not 0 <= n <= MAX_COUNT:
        raise ValueError(f"n must be between 0 and {MAX_COUNT}")
    rng = random.Random(seed)
    blocks = _cert_blocks(rng)
    orgs = _organisations(rng)
    random_unit = rng.random
    n_blocks, n_orgs = len(blocks), len(orgs)
    for i in range(n):
        yield i, blocks[int(random_unit() * n_blocks)], orgs[int(random_unit() * n_orgs)]


def generate_offers(n: int, seed: int = 0) -> Iterator[dict[str, object]]:
    """Yield `n` valid offers (as JSON-ready dicts), deterministically for a given seed."""
    for i, block, org in _picks(n, seed):
        first_year = 2026 + i % 2
        session_ref = SESSION_BASE + SESSIONS_PER_OFFER * i
        sessions: list[dict[str, object]] = [
            {
                "reference": f"{session_ref + k:08d}",
                "start": f"{first_year + k}-09-01",
                "end": f"{first_year + k + block.span}-{block.end}",
                "place": org.places[PLACE_OF_SESSION[k]],
                "recruitment": "ouvert",
            }
            for k in range(SESSIONS_PER_OFFER)
        ]
        reference = f"{FORMATION_BASE + i:012d}"
        offer: dict[str, object] = {"reference": reference, "status": "validee"}
        offer.update(block.head)
        offer["web_links"] = [f"https://www.{org.domain}/formations/{reference}"]
        offer.update(block.body)
        offer.update(org.party)
        offer["sessions"] = sessions
        offer["updated_at"] = _UPDATED_AT
        offer["created_at"] = _CREATED_AT
        yield offer


def iter_jsonl_lines(n: int, seed: int = 0) -> Iterator[bytes]:
    """The same offers as `generate_offers`, already encoded: compact UTF-8 JSON, no newline.

    Equal, byte for byte, to encoding each dict with compact separators: the shared parts are
    encoded once up front and only the per-offer parts (references, dates) are formatted here,
    which avoids re-encoding ~7 KB of text per offer.
    """
    for i, block, org in _picks(n, seed):
        first_year = 2026 + i % 2
        session_ref = SESSION_BASE + SESSIONS_PER_OFFER * i
        reference = f"{FORMATION_BASE + i:012d}"
        parts: list[bytes] = [
            f'{{"reference":"{reference}","status":"validee",'.encode(),
            block.head_json,
            f',"web_links":["https://www.{org.domain}/formations/{reference}"],'.encode(),
            block.body_json,
            b",",
            org.party_json,
            b',"sessions":[',
        ]
        for k in range(SESSIONS_PER_OFFER):
            year = first_year + k
            parts.append(
                f'{"," if k else ""}{{"reference":"{session_ref + k:08d}","start":"{year}-09-01",'
                f'"end":"{year + block.span}-{block.end}","place":'.encode()
            )
            parts.append(org.places_json[PLACE_OF_SESSION[k]])
            parts.append(b',"recruitment":"ouvert"}')
        parts.append(_TAIL)
        yield b"".join(parts)


def write_jsonl(path: str | Path, n: int = DEFAULT_COUNT, seed: int = 0) -> int:
    """Stream `n` offers to `path` (one JSON object per line); return the number written."""
    written = 0
    with Path(path).open("wb", buffering=1 << 20) as out:
        for line in iter_jsonl_lines(n, seed):
            out.write(line)
            out.write(b"\n")
            written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("n", type=int, help=f"number of offers (e.g. {DEFAULT_COUNT})")
    parser.add_argument("out", type=Path, help="output JSON Lines file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    count = write_jsonl(args.out, args.n, args.seed)
    elapsed = time.perf_counter() - started
    size = args.out.stat().st_size
    rate = count / elapsed if elapsed else float("inf")
    print(
        f"{count} offers in {elapsed:.2f} s ({rate:,.0f} offers/s), "
        f"{size / 1e6:.1f} MB ({size / max(count, 1):,.0f} bytes/offer) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
