"""`datecrea` / `datemaj` from the back-office's dates (issue #7 part 2)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from gateway.intake.models import Offer
from gateway.mapping.formation_view import FormationView, build_view, lheo_day
from gateway.mapping.profiles import load_profiles
from tests.conftest import REPO, base_offer, with_changes


def test_paris_civil_date() -> None:
    assert lheo_day(datetime.fromisoformat("2026-03-01T23:30:00+00:00")) == "20260302"  # 00:30 in Paris
    assert lheo_day(datetime.fromisoformat("2026-07-01T21:59:00+00:00")) == "20260701"  # summer time
    assert lheo_day(datetime.fromisoformat("2026-03-01T23:30:00")) == "20260301"  # naive: as given
    assert lheo_day(None) is None


def _view(data: dict[str, object]) -> FormationView:
    [profile] = load_profiles(Path(REPO / "mappings"), ["intercarif"])
    view = build_view(Offer.model_validate(data), profile, ())
    assert view is not None
    return view


def test_no_back_office_date_means_no_date() -> None:
    view = _view(base_offer())
    assert view.dates.created is None and view.dates.updated is None
    assert view.actions[0].sessions[0].dates.updated is None


def test_creation_without_update_is_the_update() -> None:
    view = _view(with_changes(base_offer(), created_at="2026-01-05T10:00:00+01:00"))
    assert (view.dates.created, view.dates.updated) == ("20260105", "20260105")


def test_a_session_updated_later_updates_its_action_and_formation() -> None:
    offer = with_changes(
        base_offer(session_refs=("00100001", "00100002")),
        created_at="2026-01-05T10:00:00+01:00",
        updated_at="2026-02-01T10:00:00+01:00",
    )
    offer["sessions"][1].update(created_at="2026-03-02T09:00:00+01:00", updated_at="2026-03-09T09:00:00+01:00")
    view = _view(offer)
    [action] = view.actions
    first, second = action.sessions
    assert (first.dates.created, first.dates.updated) == ("20260105", "20260201")  # the formation's
    assert (second.dates.created, second.dates.updated) == ("20260302", "20260309")  # its own
    assert (action.dates.created, action.dates.updated) == ("20260105", "20260309")
    assert (view.dates.created, view.dates.updated) == ("20260105", "20260309")
