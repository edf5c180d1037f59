"""Problems found in an offer, with stable codes shared by the CLI, logs, store and (later) the API.

A problem is data, not an exception: an offer can carry several, and a bad offer must never
stop the rest of the feed. Codes are stable identifiers (English, UPPER_SNAKE); messages are
French sentences a member of staff can act on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    ERROR = "error"  # the offer (or the session, see Scope) cannot be exported
    WARNING = "warning"  # exported, but staff should look


class Scope(StrEnum):
    OFFER = "offer"  # the whole formation is held back
    SESSION = "session"  # only that session is held back; the others still go out


class Code(StrEnum):
    # Intake: the record does not even fit the input format.
    INPUT_INVALID = "INPUT_INVALID"
    INPUT_MISSING_FIELD = "INPUT_MISSING_FIELD"
    INPUT_UNKNOWN_FIELD = "INPUT_UNKNOWN_FIELD"
    # Identifiers (§D).
    FORMATION_REFERENCE_FORMAT = "FORMATION_REFERENCE_FORMAT"
    SESSION_REFERENCE_FORMAT = "SESSION_REFERENCE_FORMAT"
    SESSION_REFERENCE_DUPLICATE = "SESSION_REFERENCE_DUPLICATE"
    SIRET_FORMAT = "SIRET_FORMAT"
    SIRET_CHECKSUM = "SIRET_CHECKSUM"
    UAI_FORMAT = "UAI_FORMAT"
    UAI_CHECK_LETTER = "UAI_CHECK_LETTER"
    INSEE_FORMAT = "INSEE_FORMAT"
    POSTCODE_FORMAT = "POSTCODE_FORMAT"
    NDA_FORMAT = "NDA_FORMAT"
    CERTIFINFO_FORMAT = "CERTIFINFO_FORMAT"
    RNCP_FORMAT = "RNCP_FORMAT"
    URL_FORMAT = "URL_FORMAT"
    URL_TOO_MANY = "URL_TOO_MANY"
    # Texts and addresses.
    TEXT_EMPTY = "TEXT_EMPTY"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    ADDRESS_TOO_LONG = "ADDRESS_TOO_LONG"
    # Dates (§B, §F 11-12).
    DATE_FORMAT = "DATE_FORMAT"
    DATE_IMPOSSIBLE = "DATE_IMPOSSIBLE"
    SESSION_END_BEFORE_START = "SESSION_END_BEFORE_START"
    SESSION_DATES_CHANGED = "SESSION_DATES_CHANGED"
    SESSION_NONE = "SESSION_NONE"
    # Seed guide rules (§0).
    MODALITIES_NONE = "MODALITIES_NONE"
    APPRENTICESHIP_YEARS_MISSING = "APPRENTICESHIP_YEARS_MISSING"
    APPRENTICESHIP_YEARS_UNEXPECTED = "APPRENTICESHIP_YEARS_UNEXPECTED"
    APPRENTICESHIP_YEARS_BEYOND_DURATION = "APPRENTICESHIP_YEARS_BEYOND_DURATION"
    FORMATEUR_SIREN_NOT_APPROVED = "FORMATEUR_SIREN_NOT_APPROVED"
    TITLE_SUFFIX_INCONSISTENT = "TITLE_SUFFIX_INCONSISTENT"
    DUPLICATE_SUSPECTED = "DUPLICATE_SUSPECTED"
    PLACE_MISSING = "PLACE_MISSING"
    # Destination profiles and validation.
    PROFILE_FIELD_REQUIRED = "PROFILE_FIELD_REQUIRED"
    XSD_INVALID = "XSD_INVALID"
    # issue #7: fields real LHÉO consumers read (identifiers, dates, hours, geography).
    ORGANISATION_ID_FORMAT = "ORGANISATION_ID_FORMAT"
    HOURS_TOTAL_MISMATCH = "HOURS_TOTAL_MISMATCH"
    RECORD_DATES_INCONSISTENT = "RECORD_DATES_INCONSISTENT"
    INSEE_UNKNOWN = "INSEE_UNKNOWN"
    INSEE_NOT_CURRENT = "INSEE_NOT_CURRENT"
    INSEE_POSTCODE_MISMATCH = "INSEE_POSTCODE_MISMATCH"
    POSTCODE_DEPARTMENT_UNKNOWN = "POSTCODE_DEPARTMENT_UNKNOWN"
    # issue #8
    SESSION_REFERENCE_REUSED = "SESSION_REFERENCE_REUSED"  # one session reference = one formation
    FORMATION_REFERENCE_REPEATED = "FORMATION_REFERENCE_REPEATED"  # twice in one import file
    CFD_FORMAT = "CFD_FORMAT"
    MEF_FORMAT = "MEF_FORMAT"
    VALIDITY_DATE_FORMAT = "VALIDITY_DATE_FORMAT"
    FORMACODE_FORMAT = "FORMACODE_FORMAT"
    NSF_FORMAT = "NSF_FORMAT"
    ROME_FORMAT = "ROME_FORMAT"
    COORDINATES_FORMAT = "COORDINATES_FORMAT"
    TEXT_CONTROL_CHARACTER = "TEXT_CONTROL_CHARACTER"
    # issue #9
    INPUT_INVALID_CHARACTER = "INPUT_INVALID_CHARACTER"  # e.g. a lone UTF-16 surrogate, which no text may hold
    RENDER_FAILED = "RENDER_FAILED"  # a stored offer the renderer could not turn into LHÉO: quarantined


class Problem(BaseModel):
    """One finding about an offer. `path` points into the input record (e.g. `sessions[1].fin`)."""

    model_config = ConfigDict(frozen=True)

    code: Code
    path: str
    message: str
    severity: Severity = Severity.ERROR
    scope: Scope = Scope.OFFER
    session_reference: str | None = None

    @property
    def blocks_offer(self) -> bool:
        return self.severity is Severity.ERROR and self.scope is Scope.OFFER

    def one_line(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        return f"{self.code}{where}: {self.message}"


def error(code: Code, path: str, message: str) -> Problem:
    return Problem(code=code, path=path, message=message)


def warning(code: Code, path: str, message: str) -> Problem:
    return Problem(code=code, path=path, message=message, severity=Severity.WARNING)


def session_error(code: Code, path: str, message: str, session_reference: str) -> Problem:
    return Problem(
        code=code,
        path=path,
        message=message,
        scope=Scope.SESSION,
        session_reference=session_reference,
    )
