"""Partner snapshot API (mounted at /api/v1): feeds, snapshot lists, XML/gzip downloads, diffs.

Access rules: no or bad token → 401; a feed outside the token's scope → 403 whether or not it
exists (unknown feeds answer exactly the same); an unknown snapshot of an allowed feed → 404.
Identifiers are checked against strict patterns, and files are opened only from the manifest's
path once resolved inside the outbox: nothing in a URL ever becomes a file path.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from sqlalchemy import bindparam, func, select

from gateway.mapping.profiles import ProfileError, load_profiles
from gateway.outbox.paths import feed_file
from gateway.store.database import Database
from gateway.store.tables import ExportRunRow, FeedRow
from gateway.web.api.auth import Partner, PartnerRoute
from gateway.web.api.diff import offer_changes
from gateway.web.api.files import StoredFile, accepts_gzip, serve
from gateway.web.api.schemas import ApiError, ErrorBody, FeedList, FeedSummary, Snapshot, SnapshotDiff, SnapshotPage
from gateway.web.partners import FastQuery, Principal, as_utc
from gateway.web.state import AppState, app_state

log = logging.getLogger(__name__)

FEED_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
# `<destination>_<YYYYMMDDTHHMMSSZ>_<12 hex>` (feed_id_for + feed_stem), or `latest`.
_SNAPSHOT_ID = r"[a-z0-9][a-z0-9-]{0,62}_[0-9]{8}T[0-9]{6}Z_[0-9a-f]{12}"
SNAPSHOT_PATTERN = rf"^(latest|{_SNAPSHOT_ID})$"

FeedName = Annotated[str, PathParam(pattern=FEED_PATTERN, description="Nom du flux, ex. `intercarif`.")]
SnapshotRef = Annotated[
    str, PathParam(pattern=SNAPSHOT_PATTERN, description="Identifiant d'instantané, ou `latest` pour le plus récent.")
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "Curseur invalide (BAD_CURSOR).",
        401: "Jeton absent (AUTH_REQUIRED), ou invalide, expiré, révoqué (AUTH_INVALID).",
        403: "Flux hors du périmètre du jeton, qu'il existe ou non (FEED_FORBIDDEN).",
        404: "Instantané inconnu, ou purgé, dans un flux autorisé (SNAPSHOT_NOT_FOUND).",
        410: "`latest` d'un flux qui n'a plus aucune offre depuis son dernier export (FEED_EMPTY) : "
        "l'ancien instantané n'est plus à jour ; les instantanés restent lisibles par leur identifiant.",
        416: "Plage d'octets hors du fichier (RANGE_NOT_SATISFIABLE) ; `Content-Range: bytes */taille`.",
        422: "Identifiant ou paramètre mal formé (INVALID_REQUEST).",
    }
    return {status: {"model": ErrorBody, "description": texts[status]} for status in (401, 422, *statuses)}


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_errors(403, 404, 410, 416),
    206: {"description": "Une plage d'octets (`Range: bytes=…`, `If-Range` respecté)."},
    304: {"description": "Inchangé (`If-None-Match` sur l'empreinte, ou `If-Modified-Since`)."},
}

router = APIRouter(route_class=PartnerRoute, tags=["flux"])


def _check_scope(principal: Principal, feed: str) -> None:
    if feed not in principal.feeds:
        raise ApiError(403, "FEED_FORBIDDEN", "Ce jeton ne donne pas accès à ce flux.")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the API needs of a feed's manifest row (a plain object: building ORM rows costs more)."""

    id: str
    destination: str
    run_id: int
    lheo_version: str
    path: str
    gz_path: str
    sha256: str
    gz_sha256: str
    size: int
    gz_size: int
    offer_count: int
    session_count: int
    exported_at: datetime
    created_at: datetime


# Built once (hot path: every download and 304 looks a snapshot up).
_LIVE = select(*(getattr(FeedRow, column.name) for column in fields(Manifest))).where(
    FeedRow.destination == bindparam("feed"), FeedRow.purged_at.is_(None)
)
_LATEST = FastQuery(_LIVE.order_by(FeedRow.id.desc()).limit(1))
_BY_ID = FastQuery(_LIVE.where(FeedRow.id == bindparam("id")))
# The destination's latest finished export run (issue #8): one that emitted nothing means the
# destination has no offer left, so its last feed must not be presented as current.
_LAST_RUN = FastQuery(
    select(ExportRunRow.feed_id, ExportRunRow.offers_exported, ExportRunRow.finished_at)
    .where(ExportRunRow.destination == bindparam("feed"), ExportRunRow.finished_at.is_not(None))
    .order_by(ExportRunRow.id.desc())
    .limit(1)
)


def empty_since(database: Database, feed: str) -> datetime | None:
    """When the latest export of `feed` found no offer to send (None: it has a current snapshot)."""
    found = _LAST_RUN.first(database, feed=feed)
    if found is None:
        return None
    feed_id, exported, finished_at = found
    return as_utc(finished_at) if feed_id is None and not exported else None


def _snapshot(database: Database, feed: str, ref: str) -> Manifest:
    """The manifest of a live snapshot of `feed`, or 404."""
    if ref == "latest":
        since = empty_since(database, feed)
        if since is not None:
            raise ApiError(
                410,
                "FEED_EMPTY",
                f"Le flux « {feed} » n'a plus aucune offre depuis l'export du {since:%Y-%m-%dT%H:%M:%SZ} "
                "(offres retirées, archivées ou hors périmètre) : son dernier instantané n'est plus à jour et "
                "n'est plus servi comme « latest ». Les instantanés précédents restent lisibles par leur identifiant.",
            )
        found = _LATEST.first(database, feed=feed)
    else:
        found = _BY_ID.first(database, feed=feed, id=ref) if ref.startswith(f"{feed}_") else None
    if found is None:
        raise ApiError(404, "SNAPSHOT_NOT_FOUND", f"Aucun instantané « {ref} » disponible pour ce flux.")
    return Manifest(*found)


def _model(row: Manifest) -> Snapshot:
    return Snapshot(
        id=row.id,
        feed=row.destination,
        created_at=as_utc(row.created_at),
        exported_at=as_utc(row.exported_at),
        lheo_version=row.lheo_version,
        sha256=row.sha256,
        size=row.size,
        gz_sha256=row.gz_sha256,
        gz_size=row.gz_size,
        offer_count=row.offer_count,
        session_count=row.session_count,
    )


@router.get("/feeds", response_model=FeedList, responses=_errors(), summary="Flux accessibles à ce jeton")
def list_feeds(request: Request, principal: Partner) -> FeedList:
    state = app_state(request)
    try:
        labels = {profile.name: profile.label for profile in load_profiles(state.config.mappings_path)}
    except ProfileError:
        log.exception("cannot read destination profiles for feed labels")
        labels = {}
    feeds = sorted(principal.feeds)
    with state.database.engine.connect() as connection:
        # Ids are `<feed>_<UTC time>_<digest>`: the greatest is the latest export.
        rows = connection.execute(
            select(FeedRow.destination, func.max(FeedRow.id))
            .where(FeedRow.destination.in_(feeds), FeedRow.purged_at.is_(None))
            .group_by(FeedRow.destination)
        )
        latest = {destination: feed_id for destination, feed_id in rows}
    return FeedList(feeds=[_summary(state.database, feed, labels.get(feed), latest.get(feed)) for feed in feeds])


def _summary(database: Database, feed: str, label: str | None, latest: str | None) -> FeedSummary:
    since = empty_since(database, feed)
    return FeedSummary(name=feed, label=label, latest_snapshot_id=None if since else latest, empty_since=since)


def _encode_cursor(snapshot_id: str) -> str:
    return base64.urlsafe_b64encode(snapshot_id.encode("ascii")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, feed: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not re.fullmatch(_SNAPSHOT_ID, decoded) or not decoded.startswith(f"{feed}_"):
        raise ApiError(400, "BAD_CURSOR", "Curseur de pagination invalide : reprenez le lien `next` tel quel.")
    return decoded


@router.get(
    "/feeds/{feed}/snapshots",
    response_model=SnapshotPage,
    responses=_errors(400, 403),
    summary="Instantanés d'un flux, les plus récents d'abord",
    description='Pagination par curseur opaque ; la page suivante est aussi annoncée par `Link: <…>; rel="next"`. '
    "Les instantanés purgés par la rétention ne sont pas listés.",
)
def list_snapshots(
    request: Request,
    response: Response,
    principal: Partner,
    feed: FeedName,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SnapshotPage:
    _check_scope(principal, feed)
    # Snapshot ids are `<feed>_<UTC time>_<digest>`: within a feed their order is the export order.
    query = _LIVE if cursor is None else _LIVE.where(FeedRow.id < _decode_cursor(cursor, feed))
    with app_state(request).database.engine.connect() as connection:
        rows = connection.execute(query.order_by(FeedRow.id.desc()).limit(limit + 1), {"feed": feed}).all()
    items = [_model(Manifest(*row)) for row in rows[:limit]]
    next_cursor = _encode_cursor(items[-1].id) if len(rows) > limit else None
    if next_cursor is not None:
        response.headers["Link"] = f'<{next_link(request, limit=limit, cursor=next_cursor)}>; rel="next"'
    return SnapshotPage(items=items, next_cursor=next_cursor)


def next_link(request: Request, **query: object) -> str:
    """The link to another page of this list, from `[web] public_url` — never from the request's
    `Host` header, which a client chooses (a forged one would be echoed to whoever follows it).
    Without a configured public URL the link is relative (RFC 8288), resolved by the client
    against the URL it asked for."""
    target = f"{request.scope['path']}?{urlencode({k: str(v) for k, v in query.items()})}"
    public = app_state(request).config.web.public_url
    return f"{public.rstrip('/')}{target}" if public else target


def _file(request: Request, state: AppState, row: Manifest, ref: str, *, gz_resource: bool) -> StoredFile:
    cache = "private, no-cache" if ref == "latest" else "private, max-age=31536000, immutable"
    # The snapshot's own URL (what `latest` currently is), next to the requested one.
    plain_url = f"{request.scope['path'].rsplit('/', 1)[0]}/{row.id}"
    headers = {"Cache-Control": cache}
    gz = gz_resource or accepts_gzip(request.headers.get("accept-encoding"))
    if gz_resource:
        headers["Content-Location"] = f"{plain_url}.xml.gz"
        headers["Content-Disposition"] = f'attachment; filename="{row.id}.xml.gz"'
    else:
        headers["Content-Location"] = plain_url
        headers["Content-Disposition"] = f'inline; filename="{row.id}.xml"'
        headers["Vary"] = "Accept-Encoding"
        if gz:
            headers["Content-Encoding"] = "gzip"
    return StoredFile(
        path=feed_file(state.config.outbox.path, row.gz_path if gz else row.path),
        root=state.config.outbox.path,
        size=row.gz_size if gz else row.size,
        sha256=row.gz_sha256 if gz else row.sha256,
        modified=as_utc(row.created_at),
        media_type="application/gzip" if gz_resource else "application/xml",
        headers=headers,
    )


def _download(request: Request, principal: Principal, feed: str, ref: str, *, gz_resource: bool) -> Response:
    # Called from async endpoints, so on the event loop: the lookup is one indexed read (~0.03 ms)
    # in WAL mode, where readers never wait for writers; a thread hop would cost more. The file
    # itself is read in a worker thread, chunk by chunk (FileSlice).
    _check_scope(principal, feed)
    state = app_state(request)
    row = _snapshot(state.database, feed, ref)
    return serve(request, _file(request, state, row, ref, gz_resource=gz_resource))


@router.get(
    "/feeds/{feed}/snapshots/{snapshot}.xml.gz",
    response_class=Response,
    responses={**_FILE_RESPONSES, 200: {"content": {"application/gzip": {}}, "description": "Le flux compressé."}},
    summary="Un instantané, compressé (gzip)",
    description="Ressource à part entière : son ETag est l'empreinte SHA-256 du fichier .xml.gz.",
)
async def get_snapshot_gz(request: Request, principal: Partner, feed: FeedName, snapshot: SnapshotRef) -> Response:
    return _download(request, principal, feed, snapshot, gz_resource=True)


@router.get(
    "/feeds/{feed}/snapshots/{snapshot}/diff",
    response_model=SnapshotDiff,
    responses=_errors(403, 404),
    summary="Offres ajoutées, retirées ou modifiées entre deux instantanés",
)
def diff_snapshots(
    request: Request,
    principal: Partner,
    feed: FeedName,
    snapshot: SnapshotRef,
    against: Annotated[str, Query(pattern=SNAPSHOT_PATTERN, description="Instantané de référence.")],
) -> SnapshotDiff:
    _check_scope(principal, feed)
    database = app_state(request).database
    current, reference = _snapshot(database, feed, snapshot), _snapshot(database, feed, against)
    with database.engine.connect() as connection:
        changes = offer_changes(connection, current.run_id, reference.run_id)
    return SnapshotDiff(
        feed=feed,
        snapshot=current.id,
        against=reference.id,
        added=changes.added,
        removed=changes.removed,
        changed=changes.changed,
        unchanged_count=changes.unchanged,
    )


@router.get(
    "/feeds/{feed}/snapshots/{snapshot}",
    response_class=Response,
    responses={**_FILE_RESPONSES, 200: {"content": {"application/xml": {}}, "description": "Le flux LHÉO 2.3."}},
    summary="Un instantané (XML LHÉO 2.3)",
    description="ETag fort = SHA-256 du XML. Avec `Accept-Encoding: gzip`, les octets du .xml.gz sont envoyés "
    "avec `Content-Encoding: gzip` et l'ETag du .xml.gz (`Vary: Accept-Encoding`).",
)
async def get_snapshot(request: Request, principal: Partner, feed: FeedName, snapshot: SnapshotRef) -> Response:
    return _download(request, principal, feed, snapshot, gz_resource=False)


# HEAD: the same headers as GET without the body; hidden from the docs (same operation).
for _path, _endpoint in (("/{snapshot}.xml.gz", get_snapshot_gz), ("/{snapshot}", get_snapshot)):
    router.add_api_route(f"/feeds/{{feed}}/snapshots{_path}", _endpoint, methods=["HEAD"], include_in_schema=False)


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def not_found(principal: Partner, rest: str) -> Response:
    # Unknown API paths still go through authentication and the fetch log (probing is recorded).
    raise ApiError(404, "NOT_FOUND", "Ressource inconnue.")
