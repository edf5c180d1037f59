"""Relational schema of the store. Alembic migrations in `migrations/versions` create it.

Offers are kept as the JSON record received (`payload`) plus a few indexed columns; the typed
model is rebuilt from the payload when needed, so the input format can grow without a
migration for every field.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class OfferRow(Base):
    __tablename__ = "offers"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    bo_status: Mapped[str | None] = mapped_column(String(16), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    certifinfo: Mapped[str | None] = mapped_column(String(32), index=True)
    # Certifinfo + formateur SIRET: offers sharing it are checked for duplicates.
    duplicate_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # Space-separated, so exports and duplicate checks need not parse payloads.
    session_references: Mapped[str] = mapped_column(Text, default="")
    session_starts: Mapped[str] = mapped_column(Text, default="")
    # Space-separated `start:end:place` of each session (issue #8): duplicates are offers whose
    # sessions overlap at the same place.
    session_spans: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    # True when the record parsed and no rule blocks the whole offer.
    accepted: Mapped[bool] = mapped_column(Boolean, index=True)
    problems: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of Problem
    source: Mapped[str | None] = mapped_column(Text)
    # Search columns (gateway.store.search_fields), filled at import; FTS5 indexes search_text.
    organisme_names: Mapped[str] = mapped_column(Text, default="", server_default="")
    sirets: Mapped[str] = mapped_column(Text, default="", server_default="")
    towns: Mapped[str] = mapped_column(Text, default="", server_default="")
    problem_codes: Mapped[str] = mapped_column(Text, default="", server_default="")
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    first_imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The import record (its bytes, the code and rules in force) this row was last computed from
    # (gateway.intake.recall): the same record again is recognised without being parsed.
    intake_digest: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)

    # Exports read validated offers page by page in reference order: with this index each page
    # is a range scan, instead of sorting every validated offer again for every page.
    __table_args__ = (
        Index("ix_offers_status_reference", "bo_status", "reference"),
        # Search (migration 0008): sorted pages without a sort, LIKE scans over small indexes.
        Index("ix_offers_updated_reference", "updated_at", "reference"),
        Index("ix_offers_status_updated", "bo_status", "updated_at", "reference"),
        Index("ix_offers_title_reference", "title", "reference"),
        Index("ix_offers_towns", "towns"),
        Index("ix_offers_sirets", "sirets"),
        Index("ix_offers_problem_codes", "problem_codes", "reference"),
        # The export's page scan without reading payloads (migration 0010; SQLite only).
        Index(
            "ix_offers_export_scan",
            "bo_status",
            "reference",
            "payload_sha256",
            "accepted",
            "session_references",
            "problems",
        ).ddl_if(dialect="sqlite"),
    )


class ImportRejectionRow(Base):
    """A record that could not be tied to a formation reference: kept, never dropped."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)
    rejected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionHistoryRow(Base):
    """Dates a session reference had when it was first exported (the guide forbids re-use)."""

    __tablename__ = "session_history"

    session_reference: Mapped[str] = mapped_column(String(16), primary_key=True)
    formation_reference: Mapped[str] = mapped_column(String(64))
    start: Mapped[str] = mapped_column(String(8))
    end: Mapped[str] = mapped_column(String(8))
    first_exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_feed_id: Mapped[str] = mapped_column(String(128))


class ExportRunRow(Base):
    """One destination's export attempt, whether or not it produced a feed."""

    __tablename__ = "export_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feed_id: Mapped[str | None] = mapped_column(String(128))
    offers_considered: Mapped[int] = mapped_column(Integer, default=0)
    offers_exported: Mapped[int] = mapped_column(Integer, default=0)
    offers_out_of_perimeter: Mapped[int] = mapped_column(Integer, default=0)
    offers_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    sessions_held_back: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    offers_awaiting_approval: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def emitted_nothing(self) -> bool:
        """A finished run that found no offer to send: the destination's last feed is stale."""
        return self.finished_at is not None and self.feed_id is None and self.offers_exported == 0


class QuarantineRow(Base):
    """Why an offer (or one of its sessions) was held back from one destination's feed."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(64))
    formation_reference: Mapped[str] = mapped_column(String(64))
    session_reference: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_quarantine_run", "run_id"),
        Index("ix_quarantine_offer", "formation_reference"),
        Index("ix_quarantine_run_code", "run_id", "code"),
    )


class FeedRow(Base):
    """Manifest of one feed written to the outbox."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id"))
    lheo_version: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    gz_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    gz_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    gz_size: Mapped[int] = mapped_column(Integer)
    offer_count: Mapped[int] = mapped_column(Integer)
    session_count: Mapped[int] = mapped_column(Integer)
    quarantined_count: Mapped[int] = mapped_column(Integer)
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when retention removed the files; the manifest row stays as history.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FeedOfferRow(Base):
    """Which offers a run's feed carries, with a digest of each fragment (for diffs between feeds).

    Keyed by run rather than feed: the feed's name is its digest, known only once it is written.
    """

    __tablename__ = "feed_offers"

    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id", ondelete="CASCADE"), primary_key=True)
    formation_reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    fragment_sha256: Mapped[str] = mapped_column(String(64))
    session_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_feed_offers_reference", "formation_reference"),)


class TransmissionRow(Base):
    """One feed to deliver to one destination (the outbox's relay works through these).

    Created in the same transaction as the feed's manifest row, so no feed can exist without
    its delivery. Statuses: pending → sending → sent; failed (will retry) → dead; superseded
    when a newer full feed of the destination made it pointless.
    """

    __tablename__ = "transmissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id"), index=True)
    destination: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts counted by the retry policy: reset by a replay.
    attempts_since_replay: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Age limit of the retry policy counts from here (creation, or the last replay).
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # host:pid of the process sending it; lets a restart tell a crash from a live sender.
    owner: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    remote: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("feed_id", "destination", name="uq_transmission_feed_destination"),)


class AttemptRow(Base):
    """One try at delivering a transmission; never updated once finished."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transmission_id: Mapped[int] = mapped_column(ForeignKey("transmissions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # sent, failed, dead, interrupted
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    remote: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    bytes_sent: Mapped[int | None] = mapped_column(Integer)
    replay_id: Mapped[int | None] = mapped_column(ForeignKey("replays.id"))


class ReplayRow(Base):
    """A staff request to send a transmission again: who, when, from which status."""

    __tablename__ = "replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transmission_id: Mapped[int] = mapped_column(ForeignKey("transmissions.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    previous_status: Mapped[str] = mapped_column(String(16))


class LockRow(Base):
    """A named lease held by one process (e.g. a destination's scheduled export)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartnerRow(Base):
    """A partner that pulls feed snapshots over the API, and the feeds it may read."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    feeds: Mapped[str] = mapped_column(Text)  # space-separated destination names
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerTokenRow(Base):
    """An API token, stored only as a SHA-256 digest (tokens are long random strings)."""

    __tablename__ = "partner_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown to staff to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set on the old token by a rotation (grace period) and by a revocation (now).
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerFetchRow(Base):
    """Every partner request, for the record."""

    __tablename__ = "partner_fetches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    bytes_sent: Mapped[int | None] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64))


class UserRow(Base):
    """A staff account of the web console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, with its parameters
    role: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSessionRow(Base):
    """A console session; the cookie carries a random token, the store only its digest."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Who did what, when: replays, partners, users. Never updated."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")


# --- issue #8: session ownership, approvals of "to_validate" offers --------------------------


class SessionOwnerRow(Base):
    """Which formation a session reference belongs to: the first to declare it (one file or many).

    A reference belongs to one formation in every destination alike; another formation declaring
    it has that session held back (SESSION_REFERENCE_REUSED). Released when its owner drops it,
    unless it was exported (the session history then keeps it for good).
    """

    __tablename__ = "session_owners"

    session_reference: Mapped[str] = mapped_column(String(16), primary_key=True)
    formation_reference: Mapped[str] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApprovalRow(Base):
    """An operator approved a "to_validate" offer for one destination, for that payload only."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(64))
    formation_reference: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(128))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_approvals_destination_offer", "destination", "formation_reference"),)


class PendingApprovalRow(Base):
    """An offer a run held back because it waits for approval (what the approvals page lists)."""

    __tablename__ = "pending_approvals"

    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id", ondelete="CASCADE"), primary_key=True)
    formation_reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[str] = mapped_column(Text, default="")  # French, one per line


class AlertRow(Base):
    """An incident of one destination (gateway.alerts): opened once, closed once, one notice each."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # transmission_dead | no_delivery | quarantine_high
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(Text)  # French, as notified
    opened_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Channels done for the notice in progress ("opened:email"), so a retry resends only the others.
    notified_channels: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)

    # One open incident per destination and kind, even with several processes checking at once.
    __table_args__ = (
        Index(
            "uq_alerts_open",
            "destination",
            "kind",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )


# issue #9
class RejectedUpdateRow(Base):
    """The latest rejected update of an offer whose stored version is valid (and kept).

    A malformed re-import must not unpublish a live offer: the offer row keeps its last valid
    version (still exported), and the update that was refused waits here, with its reasons,
    for staff to see beside it — until a valid update arrives and replaces both.
    """

    __tablename__ = "rejected_updates"

    reference: Mapped[str] = mapped_column(ForeignKey("offers.reference", ondelete="CASCADE"), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    problems: Mapped[str] = mapped_column(Text)  # JSON list of Problem
    source: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailureRow(Base):
    """A failed console login, kept 15 minutes or so: the throttle counts them per account and address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    login: Mapped[str] = mapped_column(String(128), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)


class InstanceRow(Base):
    """A running gateway process (`run`, `deliver`…), alive while its heartbeat is recent."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # run | deliver | demo
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SlotRow(Base):
    """One scheduled run of a destination (its cron fire time): claimed once, completed once.

    Whichever instance claims it runs it; a takeover (the claimer died) finishes it. A feed
    exported for the slot carries the slot's time as its export time, so a takeover that finds
    it only delivers.
    """

    __tablename__ = "slots"

    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    fire_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    takeovers: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feed_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
