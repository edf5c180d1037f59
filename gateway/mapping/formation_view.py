"""Map one offer to what one destination receives: title, actions, sessions, identifiers.

The view is plain data, decided here once, so the LHÉO renderer only has to write it out.
Sessions are grouped into LHÉO actions by training place (an offer has one formateur), and
everything is sorted so the same offers always give the same bytes. Each action carries the
stable token of its place (`gateway.mapping.numeros`), and the back-office's creation and
update dates are turned into LHÉO's `AAAAMMJJ` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.intake.models import Address, Offer, Place, RecruitmentState, Session
from gateway.mapping import numeros
from gateway.mapping.profiles import DestinationProfile, RequiredField
from gateway.problems import Code, Problem, error, session_error
from gateway.rules import identifiers as ids
from gateway.rules.lheo_dates import parse_lheo_date
from gateway.rules.title_suffix import export_title, suffix_for

MAX_WEB_LINKS = 3
# The back-office's dates are French civil dates: an update at 00:30 in Paris is that day's.
BACK_OFFICE_ZONE = ZoneInfo("Europe/Paris")


def lheo_day(moment: datetime | None) -> str | None:
    """`AAAAMMJJ` of a back-office timestamp (Paris date), None when unknown."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(BACK_OFFICE_ZONE)
    return moment.strftime("%Y%m%d")


def _latest(*days: str | None) -> str | None:
    known = [day for day in days if day]
    return max(known) if known else None


@dataclass(frozen=True)
class RecordDates:
    """`datecrea` / `datemaj` (AAAAMMJJ), from the back-office, never the import date."""

    created: str | None
    updated: str | None


@dataclass(frozen=True)
class SessionView:
    reference: str
    start: str  # LHÉO date text (AAAAMMJJ, with 00/99 special values)
    end: str
    registration_address: Address
    recruitment: RecruitmentState | None
    dates: RecordDates


@dataclass(frozen=True)
class ActionView:
    token: str  # stable id of the action within its formation (its place's token, or LAD)
    place: Place | None
    place_uai: str | None  # the place's own UAI, or the formateur's when in the same commune
    sessions: tuple[SessionView, ...]
    dates: RecordDates
    # 100 % distance sessions have no place: consumers still need one they can read, so the
    # action shows the formateur's address (or the responsable's) with modalites-enseignement 2.
    distance_address: Address | None = None


@dataclass(frozen=True)
class FormationView:
    offer: Offer
    title: str
    rncp: str | None
    web_links: tuple[str, ...]
    actions: tuple[ActionView, ...]
    dates: RecordDates

    @property
    def session_count(self) -> int:
        return sum(len(action.sessions) for action in self.actions)


def place_uai(offer: Offer, place: Place | None) -> str | None:
    """The UAI that identifies a training place, following the ministries' catalogue rule."""
    if place is None:
        return None
    if place.uai:
        return ids.normalize_uai(place.uai)
    formateur = offer.effective_formateur
    if (
        formateur.uai
        and formateur.address is not None
        and formateur.address.insee is not None
        and formateur.address.insee == place.insee
    ):
        return ids.normalize_uai(formateur.uai)
    return None


def requirement_problems(offer: Offer, profile: DestinationProfile) -> list[Problem]:
    """What this destination needs and the offer lacks; session-level needs hold back sessions."""
    problems: list[Problem] = []
    label = profile.label
    for field in profile.requires:
        if field is RequiredField.FORMATEUR_UAI and not offer.effective_formateur.uai:
            problems.append(
                error(
                    Code.PROFILE_FIELD_REQUIRED,
                    "formateur.uai",
                    f"{label} exige le code UAI de l'organisme formateur.",
                )
            )
        elif field is RequiredField.RNCP and not offer.rncp:
            problems.append(error(Code.PROFILE_FIELD_REQUIRED, "rncp", f"{label} exige le code RNCP."))
        elif field is RequiredField.WEB_LINK and not offer.web_links:
            problems.append(error(Code.PROFILE_FIELD_REQUIRED, "web_links", f"{label} exige un lien web."))
        elif field is RequiredField.CFD and not (offer.diploma and offer.diploma.cfd):
            problems.append(
                error(Code.PROFILE_FIELD_REQUIRED, "diploma.cfd", f"{label} exige le code formation diplôme (CFD).")
            )
        elif field is RequiredField.MEF and not (offer.diploma and offer.diploma.mef):
            problems.append(
                error(
                    Code.PROFILE_FIELD_REQUIRED,
                    "diploma.mef",
                    f"{label} exige le code MEF (10 caractères) de la 1re année de la formation.",
                )
            )
        elif field is RequiredField.EXIT_LEVEL and offer.exit_level is None:
            problems.append(error(Code.PROFILE_FIELD_REQUIRED, "exit_level", f"{label} exige le niveau de sortie."))
        elif field in (RequiredField.PLACE, RequiredField.PLACE_UAI):
            for index, session in enumerate(offer.sessions):
                if session.place is None:
                    problems.append(
                        session_error(
                            Code.PROFILE_FIELD_REQUIRED,
                            f"sessions[{index}].place",
                            f"{label} exige un lieu de formation pour la session {session.reference}.",
                            session.reference,
                        )
                    )
                elif field is RequiredField.PLACE_UAI and place_uai(offer, session.place) is None:
                    problems.append(
                        session_error(
                            Code.PROFILE_FIELD_REQUIRED,
                            f"sessions[{index}].place.uai",
                            f"{label} exige le code UAI du lieu de formation de la session "
                            f"{session.reference} (celui du formateur ne vaut que dans la même commune).",
                            session.reference,
                        )
                    )
    return problems


def _registration_address(offer: Offer, session: Session) -> Address | None:
    return session.registration_address or session.place or offer.responsable.address


def _place_key(place: Place | None) -> tuple[str, ...]:
    if place is None:
        return ("",)  # distance sessions first, under one action without lieu-de-formation
    return (
        "1",
        place.postcode,
        place.city.casefold(),
        " ".join(place.lines).casefold(),
        place.name or "",
        place.cedex or "",
        place.insee or "",
        place.uai or "",
        place.siret or "",
    )


def build_view(offer: Offer, profile: DestinationProfile, held_back_sessions: Iterable[str]) -> FormationView | None:
    """The destination's view of the offer, without held-back sessions; None if none is left."""
    held = set(held_back_sessions)
    offer_created = lheo_day(offer.created_at)
    offer_dates = RecordDates(offer_created, lheo_day(offer.updated_at) or offer_created)
    groups: dict[tuple[str, ...], tuple[Place | None, list[SessionView]]] = {}
    for session in offer.sessions:
        address = _registration_address(offer, session)
        if session.reference in held or address is None:
            continue
        created = lheo_day(session.created_at) or offer_dates.created
        view = SessionView(
            reference=session.reference,
            start=parse_lheo_date(session.start, is_end=False).text,
            end=parse_lheo_date(session.end, is_end=True).text,
            registration_address=address,
            recruitment=session.recruitment,
            dates=RecordDates(created, lheo_day(session.updated_at) or offer_dates.updated or created),
        )
        key = _place_key(session.place)
        groups.setdefault(key, (session.place, []))[1].append(view)
    if not groups:
        return None
    ordered = [groups[key] for key in sorted(groups)]
    tokens = numeros.unique_tokens(
        [numeros.DISTANCE_TOKEN if place is None else numeros.place_token(place) for place, _ in ordered]
    )
    distance_address = offer.effective_formateur.address or offer.responsable.address
    actions = tuple(
        ActionView(
            token=token,
            place=place,
            place_uai=place_uai(offer, place),
            sessions=tuple(sorted(sessions, key=lambda s: (s.start, s.end, s.reference))),
            dates=RecordDates(offer_dates.created, _latest(offer_dates.updated, *(s.dates.updated for s in sessions))),
            # Without any organism address, where one registers is still a place consumers can read.
            distance_address=(distance_address or sessions[0].registration_address) if place is None else None,
        )
        for token, (place, sessions) in zip(tokens, ordered, strict=True)
    )
    suffix = (
        suffix_for(offer.modalities.contrat_apprentissage, offer.modalities.contrat_professionnalisation)
        if profile.title_suffix
        else None
    )
    return FormationView(
        offer=offer,
        title=export_title(offer.title, suffix),
        rncp=ids.normalize_rncp(offer.rncp) if offer.rncp else None,
        web_links=tuple(offer.web_links[:MAX_WEB_LINKS]),
        actions=actions,
        dates=RecordDates(offer_dates.created, _latest(*(action.dates.updated for action in actions))),
    )
