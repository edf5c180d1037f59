"""Deliver a feed by copying it into a folder (a partner's share, a directory another job picks up).

Each file is copied under a temporary dot-name in the destination folder, fsynced, then renamed:
a reader of the folder never sees a half-copied feed, and a crash leaves only dot-files. The
`.xml.gz` goes first, so whoever sees the `.xml` can rely on its `.gz` being there too (as in the
outbox). A file already there with the same name and size is taken as delivered, so repeating a
delivery is harmless; any other file under that name is handled by `exists_policy`.
"""

from __future__ import annotations

import errno
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict

from gateway.transports.base import DeliveryError, DeliveryReceipt, FeedToDeliver

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"  # so that a `*.xml` watcher does not pick up a copy in progress
MAX_VERSIONS = 999
_BUFFER = 1 << 20

# OSErrors that a later attempt will meet again: the configuration or the outbox must change.
_PERMANENT_ERRNOS = frozenset({errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class LocalFolderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["local"] = "local"
    path: Path
    # A different file under the feed's name: "fail" (LOCAL_EXISTS), "overwrite" it, or
    # "versioned" (write `<stem>.v2.xml`, `.v3`... beside it).
    exists_policy: Literal["fail", "overwrite", "versioned"] = "fail"
    copy_gz: bool = True


@dataclass(frozen=True)
class _Copy:
    source: Path
    size: int
    name: str  # in the destination folder, before versioning


class _NameTaken(Exception):
    """Another file appeared under the target name between the check and the rename."""


def versioned_name(name: str, version: int) -> str:
    """`X.xml` → `X.v2.xml`, `X.xml.gz` → `X.v2.xml.gz`; version 1 is the name itself."""
    if version == 1:
        return name
    base, dot, extension = name.partition(".")
    return f"{base}.v{version}{dot}{extension}"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _io_error(exc: OSError, doing: str) -> DeliveryError:
    detail = f"{doing} : {exc.strerror or exc}"
    if isinstance(exc, PermissionError) or exc.errno in _PERMISSION_ERRNOS:
        return DeliveryError("LOCAL_PERMISSION", f"{detail} (droits insuffisants)", retryable=False)
    # Disk full, I/O error, stale NFS handle...: may well work later.
    return DeliveryError("LOCAL_IO", detail, retryable=exc.errno not in _PERMANENT_ERRNOS)


class LocalFolderTransport:
    def __init__(self, settings: LocalFolderSettings) -> None:
        self.settings = settings

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        pass  # nothing held between deliveries

    def deliver(self, feed: FeedToDeliver) -> DeliveryReceipt:
        folder = self.settings.path
        copies = [_Copy(feed.path, feed.size, feed.name)]
        if self.settings.copy_gz:
            copies.insert(0, _Copy(feed.gz_path, feed.gz_size, feed.gz_path.name))
        for copy in copies:
            if _size_or_none(copy.source) != copy.size:
                raise DeliveryError(
                    "LOCAL_IO",
                    f"{copy.source} est absent de l'outbox ou n'a pas la taille annoncée ({copy.size} octets)",
                    retryable=False,
                )
        self._ensure_folder(folder)
        try:
            return self._deliver_into(folder, copies)
        except OSError as exc:
            raise _io_error(exc, f"copie de {feed.name} dans {folder}") from exc

    def _ensure_folder(self, folder: Path) -> None:
        # Only the last level is created: a missing parent is more likely an unmounted share
        # than something to create on the local disk.
        try:
            folder.mkdir(exist_ok=True)
        except FileNotFoundError as exc:
            raise DeliveryError(
                "LOCAL_IO", f"le dossier parent de {folder} n'existe pas (partage non monté ?)", retryable=True
            ) from exc
        except OSError as exc:
            raise _io_error(exc, f"création du dossier {folder}") from exc
        if not folder.is_dir():
            raise DeliveryError("LOCAL_IO", f"{folder} existe mais n'est pas un dossier", retryable=False)

    def _deliver_into(self, folder: Path, copies: list[_Copy]) -> DeliveryReceipt:
        policy = self.settings.exists_policy
        for version in range(1, MAX_VERSIONS + 1):
            targets = [folder / versioned_name(copy.name, version) for copy in copies]
            present = [_size_or_none(target) for target in targets]
            if all(size == copy.size for size, copy in zip(present, copies, strict=True)):
                return self._receipt(targets, 0, "déjà présent (même nom, même taille) : rien à copier")
            clash = [
                target.name
                for target, size, copy in zip(targets, present, copies, strict=True)
                if size is not None and size != copy.size
            ]
            if clash and policy == "versioned":
                continue
            if clash and policy == "fail":
                raise DeliveryError(
                    "LOCAL_EXISTS",
                    f"un autre fichier porte déjà ce nom dans {folder} : {', '.join(clash)}",
                    retryable=False,
                )
            # Copy what is missing or (overwrite) different; a file already there whole is kept.
            todo = [
                (copy, target) for copy, target, size in zip(copies, targets, present, strict=True) if size != copy.size
            ]
            try:
                sent = self._copy_all(folder, todo, replace=policy == "overwrite")
            except _NameTaken as exc:
                if policy == "versioned":
                    continue
                raise DeliveryError(
                    "LOCAL_EXISTS", f"un autre fichier est apparu sous ce nom dans {folder} : {exc}", retryable=False
                ) from None
            detail = f"copié dans {folder}" + (f" (version {version})" if version > 1 else "")
            return self._receipt(targets, sent, detail)
        raise DeliveryError(
            "LOCAL_EXISTS",
            f"{MAX_VERSIONS} versions de {copies[-1].name} déjà présentes dans {folder}",
            retryable=False,
        )

    def _copy_all(self, folder: Path, todo: list[tuple[_Copy, Path]], *, replace: bool) -> int:
        token = uuid.uuid4().hex[:12]
        temporaries: list[Path] = []
        sent = 0
        try:
            for copy, target in todo:
                temporary = folder / f"{TEMP_PREFIX}{token}-{target.name}{TEMP_SUFFIX}"
                temporaries.append(temporary)
                sent += _copy_synced(copy, temporary)
            for temporary, (_, target) in zip(temporaries, todo, strict=True):
                _publish(temporary, target, replace=replace)
            _fsync_dir(folder)
        finally:
            for temporary in temporaries:
                temporary.unlink(missing_ok=True)
        return sent

    def _receipt(self, targets: list[Path], sent: int, detail: str) -> DeliveryReceipt:
        extra = {"already_delivered": "true"} if sent == 0 else {}
        if len(targets) > 1:
            extra["gz"] = str(targets[0])
        return DeliveryReceipt(remote=str(targets[-1]), bytes_sent=sent, detail=detail, extra=extra)


def _copy_synced(copy: _Copy, temporary: Path) -> int:
    copied = 0
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out, copy.source.open("rb") as source:
        while chunk := source.read(_BUFFER):
            out.write(chunk)
            copied += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if copied != copy.size:
        raise DeliveryError(
            "LOCAL_IO",
            f"{copy.source} a changé pendant la copie ({copied} octets lus sur {copy.size})",
            retryable=False,
        )
    return copied


def _publish(temporary: Path, target: Path, *, replace: bool) -> None:
    """Rename into place; without `replace`, never clobber a file that appeared meanwhile."""
    if replace:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # atomic, and fails if the name is taken
    except FileExistsError:
        raise _NameTaken(target.name) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # No hard links here (some network shares): check, then rename.
        if target.exists():
            raise _NameTaken(target.name) from None
        os.replace(temporary, target)
    else:
        temporary.unlink()
