"""Exports under the ministries' rules (issue #8): approvals of "to_validate" offers, formateur
approvals read at export time, and a destination left with no offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.config import ApprovedFormateur, RulesSettings
from gateway.pipeline.offer_decision import Verdict
from gateway.store.approvals import approve, waiting_approvals
from gateway.store.tables import AuditRow, ExportRunRow
from tests.conftest import FIXED_TIME, Gateway, base_offer, q, with_changes

MC = {"type": "MC", "cfd": "01025402", "valid_until": "2030-08-31"}


def _mc_offer(**changes: Any) -> dict[str, Any]:
    """A mention complémentaire of level 4: Parcoursup publishes it only after validation."""
    return with_changes(base_offer(), diploma=MC, exit_level=4, duration_years=1, apprenticeship_years=[1], **changes)


def test_to_validate_offer_waits_until_approved_then_goes_out(gateway: Gateway) -> None:
    gateway.import_offers(_mc_offer())
    waiting = gateway.export("parcoursup")["parcoursup"]
    assert (waiting.exported, waiting.awaiting_approval, waiting.feed) == (0, 1, None)
    [decision] = waiting.decisions
    assert decision.verdict is Verdict.AWAITING_APPROVAL
    assert any("soumis à validation du recteur" in reason for reason in decision.reasons)
    with gateway.database.session() as db, db.begin():
        [item] = waiting_approvals(db, "parcoursup")
        assert item.reference == "202611270001" and not item.changed_since_run
        approve(db, "parcoursup", item.reference, "alice", payload_sha256=item.payload_sha256)
    with gateway.database.session() as db:
        assert waiting_approvals(db) == []  # approved since the run: no longer listed
        [audit] = db.query(AuditRow).filter(AuditRow.action == "approve").all()
        assert (audit.actor, audit.target) == ("alice", "parcoursup/202611270001")
    sent = gateway.export("parcoursup", at=FIXED_TIME + timedelta(hours=1))["parcoursup"]
    assert (sent.exported, sent.awaiting_approval) == (1, 0)
    assert [f.get("numero") for f in gateway.feed_xml(sent).iter(q("formation"))] == ["202611270001"]
    # The approval is for Parcoursup only, and holds while the offer is unchanged.
    again = gateway.export("parcoursup", at=FIXED_TIME + timedelta(hours=2))["parcoursup"]
    assert again.exported == 1


def test_approval_no_longer_holds_once_the_offer_changes(gateway: Gateway) -> None:
    gateway.import_offers(_mc_offer())
    gateway.export("parcoursup")
    with gateway.database.session() as db, db.begin():
        approve(db, "parcoursup", "202611270001", "alice")
    gateway.import_offers(_mc_offer(title="MC Vendeur-conseil en alimentation"), name="changed.jsonl")
    result = gateway.export("parcoursup", at=FIXED_TIME + timedelta(hours=1))["parcoursup"]
    assert (result.exported, result.awaiting_approval) == (0, 1)
    assert any("ne vaut plus" in reason for reason in result.decisions[0].reasons)


def test_approval_of_a_changed_offer_is_refused(gateway: Gateway) -> None:
    import pytest

    from gateway.store.approvals import ApprovalRefused

    gateway.import_offers(_mc_offer())
    with gateway.database.session() as db, db.begin(), pytest.raises(ApprovalRefused, match="a changé"):
        approve(db, "parcoursup", "202611270001", "alice", payload_sha256="0" * 64)


def test_approved_formateur_pair_applies_at_the_next_export_without_reimport(gateway: Gateway) -> None:
    offer = base_offer()
    offer["formateur"] = {"siret": "44306184100047", "name": "Autre organisme"}
    gateway.import_offers(offer)
    blocked = gateway.export("intercarif")["intercarif"]
    assert blocked.quarantined == 1
    assert [p.code.value for p in blocked.decisions[0].problems] == ["FORMATEUR_SIREN_NOT_APPROVED"]
    pair = ApprovedFormateur(responsable_siren="732829320", formateur_siren="443061841")
    gateway.config = gateway.config.model_copy(update={"rules": RulesSettings(approved_formateurs=[pair])})
    approved = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=1))["intercarif"]
    assert (approved.exported, approved.quarantined) == (1, 0)
    # Withdrawn from [rules]: held back again at the next export.
    gateway.config = gateway.config.model_copy(update={"rules": RulesSettings()})
    assert gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=2))["intercarif"].quarantined == 1


def test_destination_left_without_offer_is_recorded_and_said(gateway: Gateway) -> None:
    gateway.import_offers(base_offer())
    first = gateway.export("intercarif")["intercarif"]
    assert first.feed_id is not None
    gateway.import_offers(with_changes(base_offer(), status="supprimee"), name="deleted.jsonl")
    empty = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=1))["intercarif"]
    assert empty.feed is None and empty.exported == 0
    assert first.feed_id in empty.note and "410" in empty.note
    with gateway.database.session() as db:
        run = db.query(ExportRunRow).order_by(ExportRunRow.id.desc()).first()
        assert run is not None and run.emitted_nothing


def test_dry_run_explains_each_rule(gateway: Gateway) -> None:
    gateway.import_offers(with_changes(base_offer(), diploma={"type": "LICENCE PRO"}, exit_level=6))
    [decision] = gateway.export("parcoursup", dry_run=True)["parcoursup"].decisions
    assert decision.verdict is Verdict.OUT_OF_PERIMETER
    assert any("LICENCE PRO" in line and "hors périmètre" in line for line in decision.trace)
    assert any(line.startswith("campagne 2027") for line in decision.trace)


def test_sessions_of_the_current_school_year_are_not_sent_to_the_next_campaign(gateway: Gateway) -> None:
    offer = base_offer()
    offer["sessions"][0]["start"] = "2026-09-01"
    gateway.import_offers(offer)
    results = gateway.export("parcoursup", "intercarif", at=datetime(2026, 11, 27, tzinfo=UTC))
    assert results["parcoursup"].out_of_perimeter == 1
    assert results["intercarif"].exported == 1  # the national feed keeps every validated offer
