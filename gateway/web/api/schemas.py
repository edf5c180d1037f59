"""Response models of the partner API (they also document it in the OpenAPI schema at /docs)."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Code stable, à tester par les clients (ex. FEED_FORBIDDEN).")
    message: str = Field(description="Explication lisible, en français.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class FeedSummary(BaseModel):
    name: str = Field(description="Nom du flux (destination), ex. intercarif.")
    label: str | None = Field(description="Libellé du profil de destination.")
    latest_snapshot_id: str | None = Field(
        description="Dernier instantané à jour, s'il y en a un (absent quand le flux n'a plus aucune offre)."
    )
    empty_since: datetime | None = Field(
        default=None,
        description="Depuis quand le flux n'a plus aucune offre : le dernier export n'a rien produit, "
        "`latest` répond 410 (FEED_EMPTY) ; les instantanés plus anciens restent lisibles par leur identifiant.",
    )


class FeedList(BaseModel):
    feeds: list[FeedSummary]


class Snapshot(BaseModel):
    id: str
    feed: str
    created_at: datetime = Field(description="Écriture du fichier dans l'outbox (UTC).")
    exported_at: datetime = Field(description="Horodatage d'export porté par le flux (UTC).")
    lheo_version: str
    sha256: str = Field(description="Empreinte du XML ; c'est aussi son ETag.")
    size: int = Field(description="Taille du XML en octets.")
    gz_sha256: str = Field(description="Empreinte de la variante gzip ; c'est aussi son ETag.")
    gz_size: int
    offer_count: int
    session_count: int


class SnapshotPage(BaseModel):
    items: list[Snapshot] = Field(description="Les plus récents d'abord.")
    next_cursor: str | None = Field(description="À passer en `cursor` pour la page suivante (aussi dans `Link`).")


class SnapshotDiff(BaseModel):
    feed: str
    snapshot: str = Field(description="Instantané comparé.")
    against: str = Field(description="Instantané de référence.")
    added: list[str] = Field(description="Références de formation présentes seulement dans `snapshot`.")
    removed: list[str] = Field(description="Références présentes seulement dans `against`.")
    changed: list[str] = Field(description="Références présentes dans les deux, au contenu différent.")
    unchanged_count: int


class ApiError(Exception):
    """An error answer of the API: HTTP status, stable code, French message (see `error_response`)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)
