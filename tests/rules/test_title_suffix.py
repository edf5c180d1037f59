"""Contract mention on titles (domain.md §0, §B; §F cases 1-3 and 5-10)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.rules.title_suffix import (
    ContractSuffix,
    clean_text,
    export_title,
    strip_known_suffixes,
    suffix_for,
)

CA = ContractSuffix.APPRENTISSAGE
CP = ContractSuffix.PROFESSIONNALISATION
BOTH = ContractSuffix.LES_DEUX

# Same facets as `intitule-formation` in the LHÉO 2.3 XSD (xs:string, 1..255), so libxml2 itself
# checks that our length is counted the way the validator counts it.
_TITLE_SCHEMA = etree.XMLSchema(
    etree.fromstring(
        b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="intitule-formation">
    <xs:simpleType><xs:restriction base="xs:string">
      <xs:minLength value="1"/><xs:maxLength value="255"/>
    </xs:restriction></xs:simpleType>
  </xs:element>
</xs:schema>"""
    )
)


def title_element(text: str) -> etree._Element:
    element = etree.Element("intitule-formation")
    element.text = text  # raises ValueError on XML-incompatible characters
    return element


def xsd_valid(text: str) -> bool:
    return _TITLE_SCHEMA.validate(title_element(text))


def words(n: int, word: str = "Gestion") -> str:
    """A title of exactly n characters made of words separated by single spaces."""
    text = ""
    while len(text) < n:
        text += (" " if text else "") + word
    return text[:n].rstrip() + "x" * (n - len(text[:n].rstrip()))


# --- suffix choice and lengths -------------------------------------------------------------------


def test_suffix_lengths_match_domain_notes() -> None:
    assert [len(" " + s) for s in (CA, CP, BOTH)] == [35, 43, 60]


def test_suffix_for_each_modality_combination() -> None:
    assert suffix_for(contrat_apprentissage=True, contrat_professionnalisation=False) is CA
    assert suffix_for(contrat_apprentissage=False, contrat_professionnalisation=True) is CP
    assert suffix_for(contrat_apprentissage=True, contrat_professionnalisation=True) is BOTH
    assert suffix_for(contrat_apprentissage=False, contrat_professionnalisation=False) is None


# --- §F cases -------------------------------------------------------------------------------------


def test_case01_apprenticeship_only_60_char_title_gets_ca_suffix_and_is_valid() -> None:
    title = words(60, "Maintenance")
    assert len(title) == 60
    result = export_title(title, suffix_for(True, False))
    assert result == title + " (Contrat d'apprentissage possible)"
    assert xsd_valid(result)


def test_case02_professionalisation_only_gets_cp_suffix() -> None:
    result = export_title("BTS Management commercial opérationnel", suffix_for(False, True))
    assert result == "BTS Management commercial opérationnel (Contrat de professionnalisation possible)"


def test_case03_both_contracts_get_only_the_combined_suffix() -> None:
    result = export_title("BTS MCO", suffix_for(True, True))
    assert result == "BTS MCO (Contrat de professionnalisation ou Apprentissage possible)"
    assert "(Contrat d'apprentissage possible)" not in result
    assert "(Contrat de professionnalisation possible)" not in result


def test_case03_title_carrying_both_single_suffixes_ends_with_one_combined_suffix() -> None:
    title = "BTS MCO (Contrat d'apprentissage possible) (Contrat de professionnalisation possible)"
    assert export_title(title, BOTH) == "BTS MCO (Contrat de professionnalisation ou Apprentissage possible)"


@pytest.mark.parametrize(
    "typed",
    [
        "(Contrat d'apprentissage possible)",
        "(Contrat d’apprentissage possible)",
        "(Contrat d‘apprentissage possible)",
        "(Contrat dʼapprentissage possible)",
        "(Contrat d´apprentissage possible)",
        "(Contrat d`apprentissage possible)",
        "(CONTRAT D'APPRENTISSAGE POSSIBLE)",
        "(contrat  d' apprentissage   possible)",
        "( Contrat d'apprentissage possible )",
        "(Contrat d'apprentissage possible )",
        "(Contrat d’apprentissage possible)  ",
    ],
)
def test_case05_title_already_ending_with_right_suffix_is_not_duplicated(typed: str) -> None:
    first = export_title("BTS MCO  " + typed, CA)
    assert first == "BTS MCO (Contrat d'apprentissage possible)"
    assert export_title(first, CA).encode("utf-8") == first.encode("utf-8")


def test_case05_canonical_title_unchanged_and_two_exports_give_identical_bytes() -> None:
    title = "CAP Cuisine (Contrat de professionnalisation ou Apprentissage possible)"
    once = export_title(title, BOTH)
    assert once == title
    assert export_title(once, BOTH).encode("utf-8") == once.encode("utf-8")


def test_case05_doubled_suffix_removed_twice() -> None:
    title = "BTS MCO (Contrat d'apprentissage possible) (Contrat d’apprentissage possible)"
    assert strip_known_suffixes(title) == "BTS MCO"
    assert export_title(title, CA) == "BTS MCO (Contrat d'apprentissage possible)"


def test_case06_stale_ca_suffix_replaced_when_offer_becomes_ca_and_cp() -> None:
    result = export_title("BTS MCO (Contrat d'apprentissage possible)", BOTH)
    assert result == "BTS MCO (Contrat de professionnalisation ou Apprentissage possible)"


def test_case06_stale_suffix_removed_when_no_contract_any_more() -> None:
    assert export_title("BTS MCO (Contrat de professionnalisation possible)", None) == "BTS MCO"


@pytest.mark.parametrize(
    "stale",
    [
        "(Contrat de professionnalisation possible)",
        "(Contrat de professionalisation possible)",  # one n, as typed in the wild
        "(Contrat de professionnalisation ou apprentissage possible)",
        "(Contrat de professionnalisation ou d'apprentissage possible)",
        "(Contrat d'apprentissage ou de professionnalisation possible)",
        "(Contrats de professionnalisation et apprentissage possibles)",
    ],
)
def test_case06_hand_typed_variants_recognised_as_stale(stale: str) -> None:
    assert strip_known_suffixes("Titre " + stale) == "Titre"


def test_mention_in_the_middle_of_a_title_is_kept() -> None:
    # Only a trailing mention is the provisional one; elsewhere it is the organisation's wording.
    title = "Le contrat (Contrat d'apprentissage possible) expliqué"
    assert strip_known_suffixes(title) == title


def test_case07_300_char_title_with_apprenticeship_suffix_cut_at_word_boundary() -> None:
    title = words(300, "Management")
    result = export_title(title, CA)
    base = result.removesuffix(" " + CA)
    assert result.endswith(" (Contrat d'apprentissage possible)")
    assert len(base) <= 220
    assert len(result) <= 255
    assert title.startswith(base)
    assert title[len(base)] == " "  # the cut fell between two words
    assert not base.endswith(" ")
    assert xsd_valid(result)


def test_case07_cut_drops_dangling_punctuation() -> None:
    title = "A" * 200 + " gestion, - " + "b" * 100
    base = export_title(title, CA).removesuffix(" " + CA)
    assert base == "A" * 200 + " gestion"


def test_case07_hard_cut_when_no_space_in_last_40_chars() -> None:
    title = "Début " + "x" * 294
    result = export_title(title, CA)
    assert result == ("Début " + "x" * 214) + " " + CA
    assert len(result) == 255


def test_case08_195_char_title_with_combined_suffix_reaches_255_and_is_kept() -> None:
    title = words(195)
    result = export_title(title, BOTH)
    assert result == title + " " + BOTH
    assert len(result) == 255
    assert xsd_valid(result)


def test_case08_196_char_title_with_combined_suffix_is_shortened() -> None:
    title = words(196)
    result = export_title(title, BOTH)
    assert len(result) <= 255
    assert result.endswith(" " + BOTH)
    assert len(result.removesuffix(" " + BOTH)) <= 195
    assert xsd_valid(result)


def test_case08_single_suffix_limits_220_and_212() -> None:
    assert export_title(words(220), CA) == words(220) + " " + CA
    assert len(export_title(words(221), CA).removesuffix(" " + CA)) <= 220
    assert export_title(words(212), CP) == words(212) + " " + CP
    assert len(export_title(words(213), CP).removesuffix(" " + CP)) <= 212


def test_case09_accented_title_limit_counts_characters_not_bytes() -> None:
    kept = export_title("é" * 220, CA)
    assert kept == "é" * 220 + " " + CA  # 255 characters, 475 UTF-8 bytes
    assert len(kept.encode("utf-8")) > 255
    assert xsd_valid(kept)
    assert not xsd_valid("é" * 256)  # the validator counts characters too
    assert export_title("é" * 256, None) == "é" * 255


def test_case09_decomposed_accents_are_composed_before_counting() -> None:
    decomposed = unicodedata.normalize("NFD", "é" * 220)
    assert len(decomposed) == 440
    assert export_title(decomposed, CA) == "é" * 220 + " " + CA


def test_case10_control_chars_stripped_markup_escaped_no_lxml_error() -> None:
    title = "BTS\x0bMCO\x1f & <Commerce>\x00\x7f\x85 fin"
    result = export_title(title, CA)
    assert result == "BTSMCO & <Commerce> fin " + CA
    xml = etree.tostring(title_element(result), encoding="unicode")
    assert "&amp; &lt;Commerce&gt;" in xml
    assert etree.fromstring(xml).text == result


def test_clean_text_turns_line_breaks_into_spaces_and_keeps_markup() -> None:
    assert clean_text("a\tb\r\nc\nd&e<f") == "a b  c d&e<f"


def test_clean_text_removes_what_lxml_refuses() -> None:
    hostile = "a\x00\x08\x0b\x0c\x0e\x1f\ud800\ufffe\uffffb"
    with pytest.raises(ValueError):
        title_element(hostile)
    assert clean_text(hostile) == "ab"
    title_element(clean_text(hostile))


def test_clean_text_keeps_accents_and_typographic_characters() -> None:
    text = "Électricité – l’« habitat » œuvre 🏠"
    assert clean_text(text) == text


def test_without_suffix_whitespace_collapsed_and_title_fitted() -> None:
    assert export_title("  BTS \t MCO\n\n", None) == "BTS MCO"
    assert len(export_title(words(300), None)) <= 255


def test_title_made_only_of_a_suffix_keeps_just_the_canonical_suffix() -> None:
    assert export_title("(contrat d’apprentissage possible)", CA) == str(CA)
    assert export_title("", BOTH) == str(BOTH)
    assert export_title("", None) == ""


def test_max_length_shorter_than_suffix_is_refused() -> None:
    with pytest.raises(ValueError):
        export_title("BTS", BOTH, max_length=40)


# --- properties -----------------------------------------------------------------------------------

_TYPED_SUFFIXES = [
    str(CA),
    str(CP),
    str(BOTH),
    "(Contrat d’apprentissage possible)",
    "(contrat de  professionnalisation possible )",
    "( CONTRAT DE PROFESSIONNALISATION OU APPRENTISSAGE POSSIBLE)",
]
_PIECES = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),  # anything, incl. controls, surrogates
    st.sampled_from([" ", "  ", "\t", "\n", "é", "e\u0301", "’", "&", "<", ",", " - ", "–", "\x0b", "\x1f", "\ufffe"]),
    st.sampled_from(["Gestion", "Management", "opérationnel", "x" * 45, "é" * 60]),
    st.sampled_from(_TYPED_SUFFIXES),
)
titles = st.lists(_PIECES, max_size=25).map("".join)
suffixes = st.sampled_from([None, CA, CP, BOTH])


@settings(max_examples=400, deadline=None)
@given(titles, suffixes)
def test_property_export_title_fits_ends_with_suffix_once_is_xml_safe_and_idempotent(
    title: str, suffix: ContractSuffix | None
) -> None:
    result = export_title(title, suffix)
    assert len(result) <= 255
    title_element(result)  # must not raise "All strings must be XML compatible"
    result.encode("utf-8")  # no lone surrogate left
    if suffix is not None:
        assert result.endswith(str(suffix))
        base = result.removesuffix(str(suffix))
        assert strip_known_suffixes(base) == base.rstrip()  # no second mention before it
        assert base == "" or base.endswith(" ")
    else:
        assert strip_known_suffixes(result) == result
    assert export_title(result, suffix) == result


@settings(max_examples=200, deadline=None)
@given(titles, suffixes, suffixes)
def test_property_changing_the_suffix_replaces_it(
    title: str, first: ContractSuffix | None, second: ContractSuffix | None
) -> None:
    # Re-exported under another modality, a title swaps its mention instead of accumulating them
    # (only when no cut was needed: a base cut for a longer mention stays cut, by design). The
    # whole cleaned title must fit — not only its export without mention, which may itself be a cut.
    assume(len(" ".join(clean_text(title).split())) <= 195)
    assert export_title(export_title(title, first), second) == export_title(title, second)
