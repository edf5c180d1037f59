"""Identifier rules (domain.md §D; §F cases 13-15 and 18-20)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.problems import Code
from gateway.rules import identifiers as ids

# --- helpers ------------------------------------------------------------------------------


def luhn_complete(head: str) -> str:
    """Append the Luhn check digit to `head` (test-side reimplementation, independent of luhn_ok)."""
    for check in "0123456789":
        candidate = head + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable: one check digit always fits")


# --- Luhn, references ---------------------------------------------------------------------


def test_luhn_known_values() -> None:
    assert ids.luhn_ok("732829320")  # SIREN of the domain.md example
    assert ids.luhn_ok("79927398713")  # textbook Luhn example
    assert not ids.luhn_ok("79927398710")


def test_luhn_rejects_empty_and_non_ascii_digits() -> None:
    assert not ids.luhn_ok("")
    assert not ids.luhn_ok("7329 ")
    assert not ids.luhn_ok("٠")  # Arabic-Indic zero: isdigit() is True, but it is not a digit here


def test_formation_and_session_references_from_seed_guide() -> None:
    assert ids.is_formation_reference("202110104724")
    assert ids.is_session_reference("00254068")


@pytest.mark.parametrize("value", ["20211010472", "2021101047245", "20211010472A", "２０２１１０１０４７２４", ""])
def test_formation_reference_rejects_wrong_length_or_non_ascii(value: str) -> None:
    assert not ids.is_formation_reference(value)


@pytest.mark.parametrize("value", ["0025406", "002540689", "0025406\n", "254068"])
def test_session_reference_rejects_wrong_length_and_trailing_newline(value: str) -> None:
    assert not ids.is_session_reference(value)


# --- SIRET / SIREN (§F 13) -------------------------------------------------------------------


def test_case13_valid_siret_from_minimal_instance() -> None:
    assert ids.siret_problem("73282932000074") is None


def test_case13_bad_siret_checksum_rejected() -> None:
    assert ids.siret_problem("73282932000075") is Code.SIRET_CHECKSUM


def test_case13_la_poste_establishment_accepted_by_digit_sum() -> None:
    assert not ids.luhn_ok("35600000049837")  # would be rejected by plain Luhn
    assert ids.siret_problem("35600000049837") is None


def test_case13_la_poste_head_office_passes_luhn() -> None:
    assert ids.luhn_ok("35600000000048")
    assert ids.siret_problem("35600000000048") is None


def test_la_poste_exception_still_rejects_digit_sum_not_multiple_of_5() -> None:
    assert ids.siret_problem("35600000049838") is Code.SIRET_CHECKSUM


def test_la_poste_digit_sum_rule_does_not_apply_to_other_sirens() -> None:
    # Luhn fails, digit sum 40 is a multiple of 5, but the SIREN is not La Poste's.
    value = "73282932000004"
    assert not ids.luhn_ok(value)
    assert sum(int(c) for c in value) % 5 == 0
    assert ids.siret_problem(value) is Code.SIRET_CHECKSUM


@pytest.mark.parametrize(
    "value",
    ["7328293200007", "732829320000744", "732 829 320 00074", "ABCDEFGHIJKLMN", "", "73282932000074\n"],
)
def test_siret_format_rejected_before_checksum(value: str) -> None:
    assert ids.siret_problem(value) is Code.SIRET_FORMAT


def test_siren_of_returns_first_nine_digits() -> None:
    assert ids.siren_of("73282932000074") == "732829320"


def test_siren_of_refuses_malformed_siret() -> None:
    with pytest.raises(ValueError):
        ids.siren_of("7328293200007")


def test_siren_problem() -> None:
    assert ids.siren_problem("732829320") is None
    assert ids.siren_problem("732829321") is Code.SIRET_CHECKSUM
    assert ids.siren_problem("73282932") is Code.SIRET_FORMAT


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_property_siret_with_computed_luhn_digit_is_accepted(head: str) -> None:
    siret = luhn_complete(head)
    assert ids.siret_problem(siret) is None
    assert ids.siren_of(siret) == siret[:9]


@given(
    st.text(alphabet="0123456789", min_size=13, max_size=13),
    st.integers(min_value=0, max_value=13),
    st.integers(min_value=1, max_value=9),
)
def test_property_single_digit_mutation_of_valid_siret_is_rejected(head: str, position: int, delta: int) -> None:
    siret = luhn_complete(head)
    mutated = siret[:position] + str((int(siret[position]) + delta) % 10) + siret[position + 1 :]
    # La Poste's alternative key could legitimately accept a mutation: out of scope here.
    assume(siret[:9] != ids.LA_POSTE_SIREN and mutated[:9] != ids.LA_POSTE_SIREN)
    assert ids.siret_problem(mutated) is Code.SIRET_CHECKSUM


# --- UAI (§F 14) ---------------------------------------------------------------------------------


def test_case14_uai_with_wrong_letter_flagged() -> None:
    assert ids.uai_check_letter("0330000") == "W"
    assert ids.uai_problem("0330000A") is Code.UAI_CHECK_LETTER
    assert ids.uai_problem("0330000W") is None


def test_case14_lowercase_uai_letter_uppercased() -> None:
    assert ids.normalize_uai(" 0290076a ") == "0290076A"
    assert ids.uai_problem("0290076a") is None


@pytest.mark.parametrize("value", ["0290076A", "6200001G", "7200009X"])
def test_uai_reference_values_from_domain_notes(value: str) -> None:
    assert ids.uai_problem(value) is None


@pytest.mark.parametrize("value", ["029007A", "02900760", "0290076AA", "O290076A", "", "0290076É"])
def test_uai_format_rejected(value: str) -> None:
    assert ids.uai_problem(value) is Code.UAI_FORMAT


def test_uai_check_letter_refuses_non_digits() -> None:
    with pytest.raises(ValueError):
        ids.uai_check_letter("029007A")


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_property_uai_built_with_check_letter_passes(first7: str) -> None:
    letter = "ABCDEFGHJKLMNPRSTUVWXYZ"[int(first7) % 23]
    assert ids.uai_problem(first7 + letter) is None
    assert ids.uai_problem(first7 + letter.lower()) is None


@given(st.text(alphabet="0123456789", min_size=7, max_size=7), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
def test_property_uai_with_wrong_letter_fails(first7: str, letter: str) -> None:
    assume(letter != "ABCDEFGHJKLMNPRSTUVWXYZ"[int(first7) % 23])
    assert ids.uai_problem(first7 + letter) is Code.UAI_CHECK_LETTER


# --- INSEE / postcodes (§F 15) ------------------------------------------------------------------


def test_case15_corsican_insee_postcode_and_department() -> None:
    assert ids.insee_problem("2A004") is None  # Ajaccio
    assert ids.postcode_problem("20000") is None
    assert ids.department_of_insee("2A004") == "2A"
    assert ids.department_of_postcode("20000") == "2A"


def test_case15_insee_code_kept_as_text_never_int() -> None:
    # int("2A004") would raise; int("01053") would lose the zero. Both must come back verbatim.
    assert ids.department_of_insee("01053") == "01"
    assert ids.department_of_insee("2B033") == "2B"


@pytest.mark.parametrize(
    ("insee", "department"), [("33063", "33"), ("97105", "971"), ("97611", "976"), ("95018", "95")]
)
def test_insee_valid_codes_and_departments(insee: str, department: str) -> None:
    assert ids.insee_problem(insee) is None
    assert ids.department_of_insee(insee) == department


@pytest.mark.parametrize(
    "insee",
    ["20004", "2C004", "2a004", "00001", "96001", "97701", "98000", "99138", "3306", "330630", "33O63", ""],
)
def test_insee_invalid_codes(insee: str) -> None:
    assert ids.insee_problem(insee) is Code.INSEE_FORMAT


def test_department_of_insee_refuses_invalid_code() -> None:
    with pytest.raises(ValueError):
        ids.department_of_insee("20004")


@pytest.mark.parametrize("postcode", ["3300", "330000", "00100", "33 000", "3300A", ""])
def test_postcode_invalid(postcode: str) -> None:
    assert ids.postcode_problem(postcode) is Code.POSTCODE_FORMAT


@pytest.mark.parametrize(
    ("postcode", "department"),
    [
        ("33000", "33"),
        ("33074", "33"),  # Bordeaux CEDEX
        ("51724", "51"),  # Reims CEDEX
        ("01000", "01"),
        ("20090", "2A"),
        ("20199", "2A"),
        ("20200", "2B"),  # Bastia
        ("20600", "2B"),
        ("97200", "972"),
        ("97600", "976"),
        ("98000", None),  # Monaco
        ("00100", None),
    ],
)
def test_department_of_postcode(postcode: str, department: str | None) -> None:
    assert ids.department_of_postcode(postcode) == department


# --- NDA, Certifinfo, RNCP, URL (§F 18-20) ------------------------------------------------------


def test_nda_format() -> None:
    assert ids.nda_problem("72330000033") is None
    assert ids.nda_problem("7233000003") is Code.NDA_FORMAT
    assert ids.nda_problem("723300000333") is Code.NDA_FORMAT
    assert ids.nda_problem("72 33000003") is Code.NDA_FORMAT


@pytest.mark.parametrize("rncp", ["38368", "RNCP38368", "rncp38368", "RNCP 38368", " Rncp38368 "])
def test_case18_rncp_exported_with_prefix(rncp: str) -> None:
    assert ids.normalize_rncp(rncp) == "RNCP38368"


def test_case18_rncp_short_codes_keep_their_digits() -> None:
    assert ids.normalize_rncp("34") == "RNCP34"


@pytest.mark.parametrize("rncp", ["383680", "RNCP383680", "1", "RNCP", "RNCP38368A", "RS5432", "RNCP-38368", ""])
def test_case18_rncp_six_digits_or_letters_flagged(rncp: str) -> None:
    assert ids.normalize_rncp(rncp) is None


@pytest.mark.parametrize("code", ["1", "123456", "1234567", "12345678", "1234567890"])
def test_case19_certifinfo_up_to_10_digits_valid(code: str) -> None:
    assert ids.certifinfo_problem(code) is None


@pytest.mark.parametrize("code", ["12345678901", "", "12345A", " 12345"])
def test_case19_certifinfo_11_digits_or_non_digits_rejected(code: str) -> None:
    assert ids.certifinfo_problem(code) is Code.CERTIFINFO_FORMAT


@pytest.mark.parametrize(
    "url",
    ["https://www.cfa-exemple.fr/formations/bts-mco", "http://exemple.fr", "HTTPS://EXEMPLE.FR/a?b=1#c"],
)
def test_case20_valid_urls(url: str) -> None:
    assert ids.url_problem(url) is None


def test_case20_url_of_400_chars_ok_401_rejected() -> None:
    base = "https://exemple.fr/"
    assert ids.url_problem(base + "a" * (400 - len(base))) is None
    assert ids.url_problem(base + "a" * (401 - len(base))) is Code.URL_FORMAT


@pytest.mark.parametrize(
    "url",
    [
        "pas une url",
        "www.exemple.fr",  # scheme-less: passes the XSD, not us
        "ftp://exemple.fr",
        "https://",
        "https:///chemin",
        "https://exemple.fr/a b",
        "https://exemple.fr/\x0b",
        "https://[::1",
        "https://exemple.fr:port/",
        "javascript:alert(1)",
        "",
    ],
)
def test_case20_malformed_urls_rejected(url: str) -> None:
    assert ids.url_problem(url) is Code.URL_FORMAT
