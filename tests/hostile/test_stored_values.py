"""A stored offer the renderer cannot handle (written by an older version) never stops the feeds."""

from __future__ import annotations

import json

from sqlalchemy import update

from gateway.pipeline.explain import explain_offer
from gateway.pipeline.offer_decision import Verdict
from gateway.store.tables import OfferRow
from tests.conftest import LHEO_NS, Gateway, base_offer, with_changes

BAD = "202611270002"


def test_an_unrenderable_stored_offer_is_quarantined_and_the_rest_goes_out(gateway: Gateway) -> None:
    gateway.import_offers(base_offer(), base_offer(BAD, ("00100002",)))
    # As a store filled before the import refused such dates holds it.
    payload = json.dumps(with_changes(base_offer(BAD, ("00100002",)), updated_at="0001-01-01T00:00:00+01:00"))
    with gateway.database.session() as db, db.begin():
        db.execute(update(OfferRow).where(OfferRow.reference == BAD).values(payload=payload))
    result = gateway.export("intercarif")["intercarif"]
    assert result.exported == 1 and result.quarantined == 1
    [held] = [d for d in result.decisions if d.verdict is Verdict.QUARANTINED]
    assert held.reference == BAD and held.problems[0].code.value == "RENDER_FAILED"
    numbers = [f.get("numero") for f in gateway.feed_xml(result).iter(f"{{{LHEO_NS}}}formation")]
    assert numbers == ["202611270001"]
    explained = explain_offer(gateway.database, gateway.config, BAD)
    assert explained and all(decision.verdict is not Verdict.EXPORTED for _profile, decision in explained)
