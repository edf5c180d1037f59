"""The bundled demo offers and the synthetic benchmark generator."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from gateway.demo import make_samples
from gateway.intake.models import Offer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "gateway" / "demo" / "sample_offers.jsonl"
BROKEN = ROOT / "gateway" / "demo" / "sample_offers_broken.jsonl"
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _luhn(number: str) -> bool:
    """Independent Luhn check (not the generator's helper)."""
    if not number.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _uai_ok(uai: str) -> bool:
    return len(uai) == 8 and uai[:7].isdigit() and uai[7] == UAI_LETTERS[int(uai[:7]) % 23]


def _load_synthetic() -> ModuleType:
    name = "bench_synthetic"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def offers() -> list[Offer]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return [Offer.model_validate_json(line) for line in lines]


def test_every_line_is_an_offer(offers: list[Offer]) -> None:
    assert 45 <= len(offers) <= 70


def test_file_is_up_to_date_with_the_generator() -> None:
    lines, broken = make_samples.build_samples()
    assert SAMPLE.read_text(encoding="utf-8") == "".join(line + "\n" for line in lines)
    assert BROKEN.read_text(encoding="utf-8") == "".join(line + "\n" for line in broken)


def test_references_are_unique_and_sorted(offers: list[Offer]) -> None:
    references = [offer.reference for offer in offers]
    assert len(set(references)) == len(references)
    assert references == sorted(references)
    assert all(len(ref) == 12 and ref.isdigit() for ref in references)


def test_session_references_are_unique(offers: list[Offer]) -> None:
    references = [session.reference for offer in offers for session in offer.sessions]
    assert len(set(references)) == len(references)
    assert all(len(ref) == 8 and ref.isdigit() for ref in references)


def test_sirets_pass_luhn_except_the_deliberate_one(offers: list[Offer]) -> None:
    bad_siret = [ref for ref, code in make_samples.BAD_OFFERS.items() if code == "SIRET_CHECKSUM"]
    assert len(bad_siret) == 1
    for offer in offers:
        sirets = [offer.formateur.siret] if offer.formateur else []
        sirets += [s.place.siret for s in offer.sessions if s.place and s.place.siret]
        if offer.reference in bad_siret:
            assert not _luhn(offer.responsable.siret)
        else:
            sirets.append(offer.responsable.siret)
        for siret in sirets:
            assert len(siret) == 14 and _luhn(siret), (offer.reference, siret)
            assert _luhn(siret[:9]), (offer.reference, siret)  # the SIREN too


def test_uais_carry_the_right_letter_except_the_deliberate_one(offers: list[Offer]) -> None:
    bad_uai = {ref for ref, code in make_samples.BAD_OFFERS.items() if code == "UAI_CHECK_LETTER"}
    for offer in offers:
        uais = [offer.formateur.uai] if offer.formateur and offer.formateur.uai else []
        uais += [s.place.uai for s in offer.sessions if s.place and s.place.uai]
        if offer.responsable.uai:
            if offer.reference in bad_uai:
                assert not _uai_ok(offer.responsable.uai)
            else:
                uais.append(offer.responsable.uai)
        assert all(_uai_ok(uai) for uai in uais), offer.reference


def test_special_cases_are_present(offers: list[Offer]) -> None:
    places = [s.place for o in offers for s in o.sessions if s.place]
    corsica = [p for p in places if p.insee == "2A004"]
    assert corsica and all(p.postcode == "20000" and p.city == "Ajaccio" for p in corsica)
    cedex = [p for p in places if p.cedex]
    assert len({(p.postcode, p.city) for p in cedex}) >= 2
    assert all(p.insee is None for p in cedex)
    distance = [o for o in offers if o.teaching_mode == "distance"]
    assert distance and all(s.place is None for o in distance for s in o.sessions)
    assert any(s.end is None for o in offers for s in o.sessions)
    assert any(s.start == "2027-09" for o in offers for s in o.sessions)
    assert any(o.title.endswith("(Contrat d’apprentissage possible)") for o in offers)
    assert any(280 <= len(o.title) <= 300 for o in offers)


def test_formateurs_share_the_siren_unless_approved(offers: list[Offer]) -> None:
    same_siren = other_siren = 0
    for offer in offers:
        if offer.formateur is None:
            continue
        pair = (offer.responsable.siret[:9], offer.formateur.siret[:9])
        if pair[0] == pair[1]:
            assert offer.formateur.siret != offer.responsable.siret
            same_siren += 1
        else:
            assert pair == make_samples.APPROVED_PAIR
            other_siren += 1
    assert same_siren >= 3
    assert other_siren == 1


def test_statuses(offers: list[Offer]) -> None:
    statuses = [o.status.value for o in offers if o.reference not in make_samples.BAD_OFFERS]
    assert statuses.count("publiee") == 3
    assert statuses.count("brouillon") == 1
    assert statuses.count("archivee") == 2
    assert statuses.count("supprimee") == 1
    assert all(o.status.value == "validee" for o in offers if o.reference in make_samples.BAD_OFFERS)


def test_bad_offers_are_documented(offers: list[Offer]) -> None:
    by_reference = {offer.reference: offer for offer in offers}
    assert set(make_samples.BAD_OFFERS) <= set(by_reference)
    assert sorted(make_samples.BAD_OFFERS.values()) == sorted(
        [
            "APPRENTICESHIP_YEARS_MISSING",
            "DATE_IMPOSSIBLE",
            "MODALITIES_NONE",
            "RNCP_FORMAT",
            "SESSION_END_BEFORE_START",
            "SIRET_CHECKSUM",
            "UAI_CHECK_LETTER",
        ]
    )
    for reference, code in make_samples.BAD_OFFERS.items():
        assert reference in (make_samples.__doc__ or ""), reference
        assert code in (make_samples.__doc__ or ""), code


def test_broken_file_holds_exactly_the_two_rejected_lines() -> None:
    lines = BROKEN.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    with pytest.raises(ValidationError) as missing:
        Offer.model_validate_json(lines[0])
    assert [e["loc"] for e in missing.value.errors()] == [("certifinfo",)]
    assert "certifinfo" not in json.loads(lines[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1])


def test_identifier_helpers() -> None:
    siret = make_samples._with_luhn_check_digit("7328293200007")
    assert siret == "73282932000074"  # the domain notes' example
    assert make_samples._with_uai_check_letter("0290076") == "0290076A"
    assert make_samples._with_uai_check_letter("0330000") == "0330000W"


def test_synthetic_offers_are_valid() -> None:
    synthetic = _load_synthetic()
    generated = list(synthetic.generate_offers(50))
    assert len(generated) == 50
    parsed = [Offer.model_validate(offer) for offer in generated]
    assert len({o.reference for o in parsed}) == 50
    session_refs = [s.reference for o in parsed for s in o.sessions]
    assert all(len(o.sessions) == 3 for o in parsed)
    assert len(set(session_refs)) == 150
    for offer in parsed:
        assert offer.status.value == "validee" and offer.modalities.contrat_apprentissage
        assert _luhn(offer.responsable.siret)
        assert offer.responsable.uai and _uai_ok(offer.responsable.uai)
        assert all(s.place and s.place.siret and _luhn(s.place.siret) for s in offer.sessions)
        assert 500 <= len(offer.objective) <= 800
        assert 1_100 <= len(offer.content) <= 1_500


def test_synthetic_lines_match_the_dicts(tmp_path: Path) -> None:
    synthetic = _load_synthetic()
    out = tmp_path / "offers.jsonl"
    assert synthetic.write_jsonl(out, 40, seed=7) == 40
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    expected = [encode(offer).encode() for offer in synthetic.generate_offers(40, seed=7)]
    assert lines[:-1] == expected


def test_samples_and_synthetic_offers_fill_what_consumers_read(offers: list[Offer]) -> None:
    """Issue #7: dates, hours (total = centre + entreprise), recruitment, back-office ids."""
    synthetic = [Offer.model_validate(o) for o in _load_synthetic().generate_offers(40)]
    for group in (offers, synthetic):
        for offer in group:
            assert offer.created_at is not None and offer.updated_at is not None
            assert offer.created_at <= offer.updated_at
            hours = offer.hours
            assert hours is not None and hours.centre and hours.company
            assert hours.total == hours.centre + hours.company
            assert offer.recruitment_perimeter is not None and offer.recruitment_terms
        organisations = [o for offer in group for o in (offer.responsable, offer.formateur) if o is not None]
        assert any(o.id for o in organisations) and any(o.id is None for o in organisations)
    # Same establishment, same back-office id (or none) in every offer.
    ids_of: dict[str, set[str | None]] = {}
    for organisation in (o for offer in offers for o in (offer.responsable, offer.formateur) if o is not None):
        ids_of.setdefault(organisation.siret, set()).add(organisation.id)
    assert all(len(ids) == 1 for ids in ids_of.values())
    assert any(s.created_at and s.updated_at for offer in offers for s in offer.sessions)
    assert any(offer.indicative_duration for offer in offers)
