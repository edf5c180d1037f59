"""The fast text renderer writes exactly what lxml would serialize from the same formation tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bench import tree_renderer
from gateway.config import LheoSettings
from gateway.intake.models import Offer
from gateway.lheo.formation import render_formation
from gateway.lheo.xml_text import long_text, short_text
from gateway.mapping.formation_view import build_view
from gateway.mapping.profiles import load_profiles
from gateway.rules.geography import Geography
from gateway.rules.lheo_dates import DateProblem
from tests.conftest import REPO, base_offer, with_changes

SAMPLES = REPO / "gateway" / "demo" / "sample_offers.jsonl"


def _renderable_samples() -> list[Offer]:
    offers = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        offer = Offer.model_validate_json(line)
        offers.append(offer)
    return offers


@pytest.mark.parametrize(
    ("destination", "settings"),
    [
        ("pole-emploi", LheoSettings()),
        # With a prefix and a public page, so the attributes and links they add are compared too.
        ("intercarif", LheoSettings(numero_prefix="NA", public_page_url="https://offre.example/formation/{reference}")),
    ],
)
def test_text_renderer_matches_lxml_serialization(destination: str, settings: LheoSettings) -> None:
    [profile] = load_profiles(Path(REPO / "mappings"), [destination])
    tricky = with_changes(
        base_offer(), title="CAP Cuisine & <Pâtisserie> « 2 »", content="Ligne 1\r\nLigne 2 & 3 < 4\x0b"
    )
    offers = [*_renderable_samples(), Offer.model_validate(tricky)]
    geography = Geography.bundled()
    compared = 0
    for offer in offers:
        try:
            view = build_view(offer, profile, ())
        except DateProblem:  # sample offers with deliberately impossible dates
            continue
        if view is None:
            continue
        text = render_formation(view, settings, geography).standalone_bytes()
        tree = etree.tostring(
            tree_renderer.render_formation(view, settings, geography), encoding="UTF-8", pretty_print=True
        )
        assert text == tree.replace(b"&#13;", b""), offer.reference
        compared += 1
    assert compared >= 50


def test_text_cleaning() -> None:
    assert short_text("  Bordeaux \t CEDEX\x0b ") == "Bordeaux CEDEX"
    assert short_text("Mérignac") == "Mérignac"
    assert long_text("a\r\nb\rc\x01\u0085") == "a\nb\nc"
