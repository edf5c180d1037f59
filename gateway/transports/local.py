"""Deliver a feed by copying it into a folder (a partner's share, a directory another job picks up).

Each file is copied under a temporary dot-name in the destination folder (`.<name>.part-<random>`,
as the SFTP transport does), fsynced, then renamed: a reader of the folder never sees a
half-copied feed, and a crash leaves only dot-files. The `.xml.gz` goes first, so whoever sees
the `.xml` can rely on its `.gz` being there too (as in the outbox).

Idempotency: feed names embed a prefix of the feed's sha256, so a file already there under the
final name with the same size is this very feed, delivered by an earlier attempt: nothing is
copied and the receipt says `already_delivered` — except for a staff replay (`resend`), which
sends the bytes again: over that copy, or under the next versioned name ("versioned").
Only a *different* file under that name is subject to `exists_policy`: "fail" (LOCAL_EXISTS),
"overwrite" (atomic rename over it) or "versioned" (`<stem>.1.xml`, `<stem>.2.xml`…, the SFTP
transport's scheme; a version with the same size counts as delivered). Without "overwrite", files
are published by hard link, which refuses an existing name: a file appearing between our check and
the rename is never clobbered.

Error codes (`DeliveryError.code`), stable:
    LOCAL_EXISTS      another file has the final name (policy "fail")              not retryable
    LOCAL_PERMISSION  permission denied, read-only file system                    not retryable
    LOCAL_IO          disk full, I/O error, parent folder missing (unmounted?)     retryable
                      path is a file, name too long...                             not retryable
    LOCAL_SOURCE      outbox file missing, or not the size announced               not retryable
Messages are French sentences for staff.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gateway.outbox.feed_file import fsync_folder
from gateway.transports.base import (
    MAX_VERSIONS,
    TEMP_MARK,
    ClosingTransport,
    DeliveryError,
    DeliveryReceipt,
    FeedToDeliver,
    ProgressCallback,
    versioned_name,
)

_BUFFER = 1 << 20

# OSErrors that a later attempt will meet again: the configuration or the outbox must change.
_PERMANENT_ERRNOS = frozenset({errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class LocalFolderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["local"] = "local"
    # Created if missing, but not its parent (a missing parent is likely an unmounted share).
    path: Path
    # A *different* file under the feed's name: "fail" (LOCAL_EXISTS), "overwrite" it, or
    # "versioned" (`<stem>.1.xml`, `<stem>.2.xml`... beside it). Same name and size = delivered.
    exists_policy: Literal["fail", "overwrite", "versioned"] = "fail"
    copy_gz: bool = True
    # Create missing parent folders too (the demo's var/deliveries/…); keep false for a share.
    create_parents: bool = False


@dataclass(frozen=True)
class _Copy:
    source: Path
    size: int
    name: str  # in the destination folder, before versioning


class _NameTaken(Exception):
    """Another file appeared under the target name between the check and the rename."""


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


class LocalFolderTransport(ClosingTransport):
    def __init__(self, settings: LocalFolderSettings) -> None:
        self.settings = settings
        self.progress: ProgressCallback | None = None  # local copies are quick: reported once done

    def deliver(self, feed: FeedToDeliver) -> DeliveryReceipt:
        folder = self.settings.path
        copies = [_Copy(feed.path, feed.size, feed.name)]
        if self.settings.copy_gz:
            copies.insert(0, _Copy(feed.gz_path, feed.gz_size, feed.gz_path.name))
        for copy in copies:
            if _size_or_none(copy.source) != copy.size:
                raise DeliveryError(
                    "LOCAL_SOURCE",
                    f"{copy.source} est absent de l'outbox ou n'a pas la taille annoncée ({copy.size} octets)",
                    retryable=False,
                )
        self._ensure_folder(folder)
        try:
            receipt = self._deliver_into(folder, copies, resend=feed.resend)
        except OSError as exc:
            raise _io_error(exc, f"copie de {feed.name} dans {folder}") from exc
        if self.progress is not None:
            self.progress(feed.size)
        return receipt

    def _ensure_folder(self, folder: Path) -> None:
        # Only the last level is created: a missing parent is more likely an unmounted share
        # than something to create on the local disk.
        try:
            folder.mkdir(parents=self.settings.create_parents, exist_ok=True)
        except FileNotFoundError as exc:
            raise DeliveryError(
                "LOCAL_IO", f"le dossier parent de {folder} n'existe pas (partage non monté ?)", retryable=True
            ) from exc
        except FileExistsError as exc:  # mkdir(exist_ok=True) only says so when it is not a folder
            raise DeliveryError("LOCAL_IO", f"{folder} existe mais n'est pas un dossier", retryable=False) from exc
        except OSError as exc:
            raise _io_error(exc, f"création du dossier {folder}") from exc

    def _deliver_into(self, folder: Path, copies: list[_Copy], *, resend: bool = False) -> DeliveryReceipt:
        policy = self.settings.exists_policy
        for version in range(MAX_VERSIONS + 1):
            targets = [folder / versioned_name(copy.name, version) for copy in copies]
            present = [_size_or_none(target) for target in targets]
            if all(size == copy.size for size, copy in zip(present, copies, strict=True)):
                if not resend:
                    return self._receipt(
                        targets, 0, "déjà présent (même nom, même taille) : rien à copier", already=True
                    )
                if policy == "versioned":
                    continue  # a replay: under the next free versioned name
                # A replay over our own copy (the name carries the feed's digest): replace it.
                sent = self._copy_all(folder, list(zip(copies, targets, strict=True)), replace=True)
                return self._receipt(targets, sent, f"rejeu : renvoyé dans {folder}, la copie déjà présente remplacée")
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
            detail = ("rejeu : renvoyé" if resend else "copié") + f" dans {folder}"
            detail += f" (version {version} : {targets[-1].name})" if version else ""
            return self._receipt(targets, sent, detail)
        raise DeliveryError(
            "LOCAL_EXISTS",
            f"{MAX_VERSIONS} versions de {copies[-1].name} déjà présentes dans {folder}",
            retryable=False,
        )

    def _copy_all(self, folder: Path, todo: list[tuple[_Copy, Path]], *, replace: bool) -> int:
        temporaries: list[Path] = []
        sent = 0
        try:
            for copy, target in todo:
                temporary = folder / f".{target.name}{TEMP_MARK}{secrets.token_hex(6)}"
                temporaries.append(temporary)
                sent += _copy_synced(copy, temporary)
            for temporary, (_, target) in zip(temporaries, todo, strict=True):
                _publish(temporary, target, replace=replace)
            fsync_folder(folder)
        finally:
            for temporary in temporaries:
                with contextlib.suppress(OSError):  # never hide the error that got us here
                    temporary.unlink(missing_ok=True)
        return sent

    def _receipt(self, targets: list[Path], sent: int, detail: str, *, already: bool = False) -> DeliveryReceipt:
        extra = {"already_delivered": "true"} if already else {}
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
            "LOCAL_SOURCE",
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
