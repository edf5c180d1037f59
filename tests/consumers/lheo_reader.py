"""Read a LHÉO feed the way real consumers of Carif-Oref feeds do (issue #7).

Written from the facts listed in `../shared/realworld/README.md` about Anotea, data·inclusion
and Trèfle — not from their code: XPath on the parsed document, plus Anotea's way of cutting
the file into formations (lines that begin with `<formation`). `feed_problems` returns what
such a consumer would trip on; an empty list means every formation reads right.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lxml import etree

LHEO_NS = "http://lheo.gouv.fr/2.3"
NS = {"l": LHEO_NS}
DAY = re.compile(r"[0-9]{8}")


def _text(element: etree._Element, path: str) -> str | None:
    found = element.xpath(f"string({path})", namespaces=NS)
    value = str(found).strip()
    return value or None


@dataclass
class Organism:
    kind: str  # "responsable" | "formateur"
    numero: str | None
    siret: str | None


@dataclass
class Address:
    where: str
    departement: str | None
    region: str | None
    insee: str | None
    country: str | None


@dataclass
class ActionRead:
    numero: str | None
    datemaj: str | None
    has_place: bool  # Anotea's organism sync and data·inclusion need a lieu-de-formation
    main_place: bool  # data·inclusion picks it by tag="principal"
    apprenticeship: str | None  # Trèfle: extras[@info="dispositif"]/extra[@info="contrat-apprentissage"]
    professionalisation: str | None
    hours_total: str | None
    session_numeros: list[str | None]
    session_dates: list[str | None]


@dataclass
class FormationRead:
    numero: str | None
    datemaj: str | None
    datecrea: str | None
    responsable: Organism
    actions: list[ActionRead]
    formateurs: list[Organism]
    addresses: list[Address] = field(default_factory=list)


def read_formation(element: etree._Element) -> FormationRead:
    responsable = element.xpath("l:organisme-formation-responsable", namespaces=NS)[0]
    actions = []
    formateurs = []
    for action in element.xpath("l:action", namespaces=NS):
        actions.append(
            ActionRead(
                numero=action.get("numero"),
                datemaj=action.get("datemaj"),
                has_place=bool(action.xpath("l:lieu-de-formation/l:coordonnees/l:adresse/l:ville", namespaces=NS)),
                main_place=bool(action.xpath("l:lieu-de-formation[@tag='principal']", namespaces=NS)),
                apprenticeship=_text(action, "l:extras[@info='dispositif']/l:extra[@info='contrat-apprentissage']"),
                professionalisation=_text(
                    action, "l:extras[@info='dispositif']/l:extra[@info='contrat-professionnalisation']"
                ),
                hours_total=_text(action, "l:nombre-heures-total"),
                session_numeros=[s.get("numero") for s in action.xpath("l:session", namespaces=NS)],
                session_dates=[s.get("datemaj") for s in action.xpath("l:session", namespaces=NS)],
            )
        )
        for formateur in action.xpath("l:organisme-formateur", namespaces=NS):
            formateurs.append(
                Organism("formateur", formateur.get("numero"), _text(formateur, "l:SIRET-formateur/l:SIRET"))
            )
    addresses = [
        Address(
            where=etree.ElementTree(element).getpath(address),
            departement=_text(address, "l:departement"),
            region=_text(address, "l:region"),
            insee=_text(address, "l:code-INSEE-commune"),
            country=_text(address, "l:pays"),
        )
        for address in element.xpath(".//l:adresse", namespaces=NS)
    ]
    return FormationRead(
        numero=element.get("numero"),
        datemaj=element.get("datemaj"),
        datecrea=element.get("datecrea"),
        responsable=Organism(
            "responsable", responsable.get("numero"), _text(responsable, "l:SIRET-organisme-formation/l:SIRET")
        ),
        actions=actions,
        formateurs=formateurs,
        addresses=addresses,
    )


def read_feed(path: Path) -> list[FormationRead]:
    root = etree.parse(str(path)).getroot()
    return [read_formation(element) for element in root.xpath("/l:lheo/l:offres/l:formation", namespaces=NS)]


def split_on_formation_lines(path: Path) -> list[str]:
    """Anotea's cut: a formation starts on a line beginning with `<formation`, ends with `</formation>`."""
    chunks: list[str] = []
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("<formation"):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.strip() == "</formation>":
                chunks.append("".join(current))
                current = None
    return chunks


def is_day(value: str | None) -> bool:
    if value is None or not DAY.fullmatch(value):
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def feed_problems(path: Path, *, dates_required: bool = True) -> list[str]:
    """What a consumer reading this feed trips on (empty = reads right)."""
    problems: list[str] = []
    formations = read_feed(path)
    by_numero: dict[str, set[str | None]] = defaultdict(set)  # organism numero -> SIRETs
    by_siret: dict[str | None, set[str]] = defaultdict(set)  # SIRET -> organism numeros
    seen: dict[str, set[str]] = defaultdict(set)
    for formation in formations:
        name = formation.numero or "<formation sans numero>"
        for kind, numero in (
            ("formation", formation.numero),
            *(("action", action.numero) for action in formation.actions),
            *(("session", numero) for action in formation.actions for numero in action.session_numeros),
        ):
            if not numero:
                problems.append(f"{name}: {kind} sans numero")
            elif numero in seen[kind]:
                problems.append(f"{name}: numero de {kind} en double dans le flux : {numero}")
            else:
                seen[kind].add(numero)
        for organism in (formation.responsable, *formation.formateurs):
            if not organism.numero:
                problems.append(f"{name}: organisme {organism.kind} sans numero (Anotea s'arrête)")
                continue
            by_numero[organism.numero].add(organism.siret)
            by_siret[organism.siret].add(organism.numero)
        for action in formation.actions:
            if not action.has_place:
                problems.append(f"{name}: action {action.numero} sans lieu-de-formation lisible")
            elif not action.main_place:
                problems.append(f"{name}: action {action.numero} sans lieu principal (tag='principal')")
            if action.apprenticeship not in ("0", "1") or action.professionalisation not in ("0", "1"):
                problems.append(f"{name}: action {action.numero} sans extras dispositif lisible")
        for address in formation.addresses:
            if not address.departement or not address.region:
                problems.append(f"{name}: adresse sans département ou région ({address.where})")
            if address.country != "FR":
                problems.append(f"{name}: adresse sans pays FR ({address.where})")
        if dates_required:
            dated = [formation.datemaj, *(a.datemaj for a in formation.actions)]
            dated += [day for a in formation.actions for day in a.session_dates]
            if not all(is_day(day) for day in dated):
                problems.append(f"{name}: date de mise à jour (datemaj) absente ou invalide")
    for numero, sirets in by_numero.items():
        if len(sirets) > 1:
            problems.append(f"le numero d'organisme {numero} désigne plusieurs SIRET : {sorted(map(str, sirets))}")
    for siret, numbers in by_siret.items():
        if len(numbers) > 1:
            problems.append(f"le SIRET {siret} a plusieurs numeros d'organisme : {sorted(numbers)}")
    chunks = split_on_formation_lines(path)
    if len(chunks) != len(formations):
        problems.append(f"découpage par lignes `<formation` : {len(chunks)} morceaux pour {len(formations)} formations")
    for chunk in chunks:
        try:
            etree.fromstring(chunk.replace("<formation", f'<formation xmlns="{LHEO_NS}"', 1).encode())
        except etree.XMLSyntaxError as exc:
            problems.append(f"un morceau `<formation` n'est pas une formation entière : {exc}")
    return problems
