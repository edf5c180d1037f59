"""Stable `numero`s for formations, actions, sessions, places and organisms (issue #7).

Consumers (Anotea, data·inclusion) match and de-duplicate on `numero`, so each one must be
the same from one export to the next and never come from row order:

- formation: the back-office formation reference; session: the session reference (stable
  once created, the seed guide forbids re-using one);
- organism: the back-office's own id when the input carries one, otherwise `SIRET` + the
  SIRET (the establishment), so the same organism has the same numero in every offer, and a
  derived numero can never equal a back-office id (ids starting with `SIRET` are refused);
- place: `L` + a digest of what identifies it (address, name, UAI, SIRET), so adding a place
  to an offer never renumbers the others; action: the formation reference + its place's token;
  the distance pseudo-place (see `distance_token`) has token `LAD`, like the national chain's
  `-99999#LAD`.

Every numero is `<prefix>_<local id>` (`[lheo] numero_prefix`), or the local id alone.
"""

from __future__ import annotations

import hashlib

from gateway.intake.models import Organisation, Place

DERIVED_ORGANISATION_MARK = "SIRET"
DISTANCE_TOKEN = "LAD"
_DIGEST_CHARS = 10  # 40 bits: collisions within one formation are handled, across a feed harmless


def prefixed(prefix: str, local: str) -> str:
    return f"{prefix}_{local}" if prefix else local


def organisation_local_id(organisation: Organisation) -> str:
    if organisation.id:
        return organisation.id
    return DERIVED_ORGANISATION_MARK + organisation.siret


def place_token(place: Place) -> str:
    """`L` + digest of the place's identity; insensitive to case and spacing of the texts."""
    parts = (
        place.postcode,
        " ".join(place.city.split()).casefold(),
        "|".join(" ".join(line.split()).casefold() for line in place.lines),
        " ".join((place.name or "").split()).casefold(),
        (place.cedex or "").casefold(),
        (place.uai or "").upper(),
        place.siret or "",
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_DIGEST_CHARS].upper()
    return "L" + digest


def unique_tokens(tokens: list[str]) -> list[str]:
    """Make tokens unique within one formation: a repeat gets `-2`, `-3`… in the given order.

    Two groups of sessions only share a token when their places differ by what the digest
    ignores (e.g. one declares the INSEE code and the other not); the order is the view's
    sorted order, so the result is still deterministic.
    """
    seen: dict[str, int] = {}
    result = []
    for token in tokens:
        count = seen.get(token, 0) + 1
        seen[token] = count
        result.append(token if count == 1 else f"{token}-{count}")
    return result
