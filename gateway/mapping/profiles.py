"""Destination profiles: one declarative TOML file per destination in the mappings folder.

A profile says which offers a destination receives (its perimeter), which fields it cannot do
without, and whether titles carry the provisional contract suffix. Staff change a perimeter
by editing the file; adding a destination is adding a file.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.intake.input_errors import describe
from gateway.mapping.perimeter_rules import Campaign, Catalogue, PerimeterRule, RuleStatus

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Modality(StrEnum):
    FORMATION_CONTINUE = "formation_continue"
    CONTRAT_PROFESSIONNALISATION = "contrat_professionnalisation"
    CONTRAT_APPRENTISSAGE = "contrat_apprentissage"


class RequiredField(StrEnum):
    """Fields a destination cannot do without, beyond what LHÉO itself requires."""

    FORMATEUR_UAI = "formateur_uai"  # the formateur's UAI (candidates' wishes point to it)
    PLACE = "place"  # every session has a training place (no 100 % distance)
    PLACE_UAI = "place_uai"  # the place's UAI, or the formateur's when in the same commune
    RNCP = "rncp"
    WEB_LINK = "web_link"
    EXIT_LEVEL = "exit_level"
    CFD = "cfd"  # the diploma's CFD code (diploma.cfd)
    MEF = "mef"  # at least one MEF code of the first year (diploma.mef), for Affelnet


class Perimeter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The offer must declare at least one of these modalities (empty: any offer).
    modalities_any: list[Modality] = Field(default_factory=list)
    # Exit level of the certification (3 = CAP ... 7 = master); empty: any level.
    exit_levels: list[int] = Field(default_factory=list)
    # Entry levels accepted (0 = sans niveau spécifique); empty: any level.
    entry_levels: list[int] = Field(default_factory=list)
    # Apprenticeship must be open in the first curriculum year (Parcoursup, Affelnet).
    first_year_open: bool = False
    # 100 % distance offers are never sent (legacy spelling of `distance = "out"`).
    exclude_distance: bool = False
    # Status of 100 % distance offers (the catalogue: "non publié" pending arbitration): a
    # status, not an error. Empty: distance offers are treated like the others.
    distance: RuleStatus | None = None
    # Offers whose responsable or formateur has one of these SIRETs are out (the catalogue's rules name some).
    excluded_sirets: list[str] = Field(default_factory=list)


class DestinationProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PROFILE_NAME.pattern)
    label: str
    description: str = ""
    # Add "(Contrat d'apprentissage possible)" & co. to exported titles (France Travail).
    title_suffix: bool = False
    perimeter: Perimeter = Field(default_factory=Perimeter)
    requires: list[RequiredField] = Field(default_factory=list)
    # The ministries' way (issue #8): a campaign window, and rules by diploma type, first match wins.
    campaign: Campaign | None = None
    rules: list[PerimeterRule] = Field(default_factory=list)

    @property
    def catalogue(self) -> Catalogue:
        return Catalogue(campaign=self.campaign, rules=self.rules)


class ProfileError(Exception):
    """A profile file is missing or invalid; the message names the file."""


def load_profile(path: Path) -> DestinationProfile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    raw.setdefault("name", path.stem)
    try:
        profile = DestinationProfile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(f"{path} : profil invalide — {describe(exc)}") from exc
    if profile.name != path.stem:
        raise ProfileError(f"{path} : le nom {profile.name!r} doit être celui du fichier ({path.stem!r})")
    return profile


def load_profiles(folder: Path, only: list[str] | None = None) -> list[DestinationProfile]:
    """All profiles of `folder`, sorted by name; `only` restricts and checks the names exist."""
    if not folder.is_dir():
        raise ProfileError(f"mappings folder not found: {folder}")
    profiles = {p.stem: p for p in sorted(folder.glob("*.toml"))}
    wanted = only or sorted(profiles)
    unknown = [name for name in wanted if name not in profiles]
    if unknown:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"unknown destination(s): {', '.join(unknown)} (known: {known})")
    return [load_profile(profiles[name]) for name in sorted(set(wanted))]
