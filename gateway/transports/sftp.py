"""Deliver a feed to a partner's SFTP server (OpenSSH or any SFTP v3 server), with paramiko.

One SSH connection per transport instance: opened on the first delivery, reused for the whole
run, closed by `close()` (or the `with` block). The server must prove who it is before we log in:
its host key is checked against a pinned `SHA256:` fingerprint and/or a known_hosts file, and an
unknown or different key is refused — never learnt. We log in with a private key only (no
password, no agent, no key found lying around in ~/.ssh).

A feed is written under a temporary dot-name in `remote_dir` (`.<name>.part-<random>`), its
remote size is compared with the local one, and only then is it renamed to its final name: a
partner never sees a partial file under the real name, and on failure the temporary file is
removed (or, when the connection is gone, removed after the next reconnection of this instance).

Idempotency: feed names embed a prefix of the feed's sha256, so a file already present under the
final name with the same size is taken as this very feed, delivered by an earlier attempt (for
instance one whose answer was lost when the connection dropped): nothing is sent and the receipt
says `already_delivered`. Only a *different* file under that name is subject to `exists_policy`:
"fail" (SFTP_REMOTE_EXISTS), "overwrite" (atomic `posix-rename@openssh.com` over it) or
"versioned" (`<stem>.1.xml`, `<stem>.2.xml`…; a version with the same size again counts as
delivered). When nothing may be replaced the plain SFTP rename is used on purpose: it refuses an
existing target, so a file that appears between our check and the rename is never clobbered.

Speed: aes128-gcm@openssh.com when offered; writes as large as the server announces accepting
(limits@openssh.com, 255 KiB for OpenSSH) and pipelined by our own loop on paramiko's channel
(sftp_writer.py: no copies per write, answers consumed as they arrive); socket reads buffered and
sends without a poll each (sftp_socket.py); TCP_NODELAY. See bench/sftp_benchmark.py for the
comparison with OpenSSH's sftp in the same run.

Error codes (`DeliveryError.code`), stable:
    SFTP_CONNECT           server unreachable, refused, timed out, DNS, handshake cut   retryable
    SFTP_HOSTKEY_UNKNOWN   host key not pinned (known_hosts has no key for the host)   not retryable
    SFTP_HOSTKEY_MISMATCH  host key differs from the pinned one                          not retryable
    SFTP_AUTH              key refused by the server                                     not retryable
    SFTP_CONFIG            private key / passphrase / known_hosts file unusable          not retryable
    SFTP_UNSUPPORTED       no common algorithm, or no sftp subsystem on the server      not retryable
    SFTP_PERMISSION        permission denied in remote_dir                               not retryable
    SFTP_REMOTE_DIR        remote_dir does not exist                                     not retryable
    SFTP_REMOTE_EXISTS     another file has the final name (policy "fail"), or a folder  not retryable
    SFTP_TRANSFER          connection dropped / timed out mid-transfer, server failure   retryable
    SFTP_SOURCE            outbox file missing, unreadable or changed                    not retryable
Messages are French sentences for staff, followed by the underlying (English) error.

Not thread-safe: one instance serves one delivery run, feeds one after the other.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import posixpath
import secrets
import socket
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NoReturn, Protocol, cast

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY
from paramiko.ssh_exception import IncompatiblePeer

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
from gateway.transports.sftp_settings import MAX_WRITE_SIZE, SftpSettings
from gateway.transports.sftp_socket import BufferedSocket
from gateway.transports.sftp_writer import PipelinedWriter, SourceChanged, SourceUnreadable, advise_sequential


class SftpCode(StrEnum):
    CONNECT = "SFTP_CONNECT"
    HOSTKEY_UNKNOWN = "SFTP_HOSTKEY_UNKNOWN"
    HOSTKEY_MISMATCH = "SFTP_HOSTKEY_MISMATCH"
    AUTH = "SFTP_AUTH"
    CONFIG = "SFTP_CONFIG"
    UNSUPPORTED = "SFTP_UNSUPPORTED"
    PERMISSION = "SFTP_PERMISSION"
    REMOTE_DIR = "SFTP_REMOTE_DIR"
    REMOTE_EXISTS = "SFTP_REMOTE_EXISTS"
    TRANSFER = "SFTP_TRANSFER"
    SOURCE = "SFTP_SOURCE"


# paramiko 5 implements aes*-gcm@openssh.com (AEAD: no separate MAC pass, one cryptography call per
# packet), measured faster than aes128-ctr + HMAC here; CTR with an encrypt-then-MAC HMAC is the
# fallback for servers without GCM. Other algorithms paramiko offers stay behind, for old servers.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
PREFERRED_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256")
# What we advertise for data coming *to* us (acks are small). Uploads are paced by the server's
# own window and maximum packet size (2 MiB and 32 KiB for OpenSSH), not by these.
WINDOW_SIZE = 16 * 1024 * 1024
MAX_PACKET_SIZE = 128 * 1024
# Every SFTP server accepts 32 KiB writes (paramiko's own cap). Larger ones are used only when the
# server announces them (limits@openssh.com, OpenSSH >= 8.6; 255 KiB for OpenSSH 9): fewer
# requests and answers for the same bytes, each answer covering about eight SSH packets.
SAFE_WRITE = paramiko.SFTPFile.MAX_REQUEST_SIZE


def host_key_fingerprint(key: paramiko.PKey) -> str:
    """`SHA256:<base64, unpadded>` of a public key, as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class _Upload:
    local: Path
    size: int
    name: str  # final name in remote_dir, before versioning
    resend: bool = False  # a replay: a same-size copy already there does not count as delivered


class _NameTaken(Exception):
    """The no-clobber rename failed and something now has the target name."""


def _fail(code: SftpCode, message: str, *, retryable: bool, cause: BaseException | None = None) -> NoReturn:
    if cause is not None:
        said = str(cause).strip()
        message = f"{message} [{type(cause).__name__}: {said}]" if said else f"{message} [{type(cause).__name__}]"
    raise DeliveryError(str(code), message, retryable=retryable)


def _prefer(available: Sequence[str], first: Sequence[str]) -> list[str]:
    return [name for name in first if name in available] + [name for name in available if name not in first]


class SftpTransport(ClosingTransport):
    """Delivers feeds over one lazily opened SSH connection; close it, or use it as a context manager."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.progress: ProgressCallback | None = None
        self._ssh: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._key: paramiko.PKey | None = None
        self._revoked: set[str] = set()  # base64 of keys marked @revoked in known_hosts
        self._closed = False
        self._posix_rename = True  # until the server proves otherwise
        self._write_limit: int | None = None  # largest SFTP write this server announces accepting
        self._stalled = False  # the current connection timed out: do not wait on it again
        # Temporary files we could not remove because the connection was gone.
        self._orphans: list[str] = []
        self.connections_opened = 0

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        self._disconnect()

    def _disconnect(self) -> None:
        sftp, ssh = self._sftp, self._ssh
        self._sftp = self._ssh = None
        self._stalled = False
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        if ssh is not None:
            with contextlib.suppress(Exception):
                ssh.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.username}@{self.settings.host}:{self.settings.port}"

    # -- delivery --------------------------------------------------------------------------

    def deliver(self, feed: FeedToDeliver) -> DeliveryReceipt:
        if self._closed:
            raise RuntimeError("SftpTransport used after close()")
        if self.settings.upload_gz:
            upload = _Upload(feed.gz_path, feed.gz_size, feed.gz_path.name, feed.resend)
        else:
            upload = _Upload(feed.path, feed.size, feed.name, feed.resend)
        started = time.monotonic()
        with self._open_source(upload) as source:
            sftp = self._session()
            try:
                return self._deliver(sftp, upload, source, started)
            except DeliveryError as error:
                if error.code in (SftpCode.TRANSFER, SftpCode.CONNECT):
                    self._disconnect()  # the next delivery reconnects
                raise

    @contextlib.contextmanager
    def _open_source(self, upload: _Upload) -> Iterator[io.FileIO]:
        try:
            source = upload.local.open("rb", buffering=0)
        except OSError as exc:
            _fail(
                SftpCode.SOURCE, f"fichier du flux illisible dans l'outbox : {upload.local}", retryable=False, cause=exc
            )
        with source:
            actual = os.fstat(source.fileno()).st_size
            if actual != upload.size:
                _fail(
                    SftpCode.SOURCE,
                    f"{upload.local} fait {actual} octets au lieu des {upload.size} annoncés : "
                    "le fichier a changé dans l'outbox",
                    retryable=False,
                )
            yield source

    def _deliver(
        self, sftp: paramiko.SFTPClient, upload: _Upload, source: io.FileIO, started: float
    ) -> DeliveryReceipt:
        remote_dir = self.settings.remote_dir
        policy = self.settings.exists_policy
        # Before sending anything: already delivered, or a clash the policy forbids?
        version = 0
        replace = policy == "overwrite"
        while True:
            target = posixpath.join(remote_dir, versioned_name(upload.name, version))
            present = self._remote_size(sftp, target)
            if present == upload.size and not upload.resend:
                return self._receipt(target, 0, started, already=True)
            if present == upload.size and policy != "versioned":
                # A replay over our own copy (its name carries the feed's digest): replace it.
                replace = True
                break
            if present is None or (policy == "overwrite" and present >= 0):
                break
            if policy != "versioned":  # "fail", or a folder that "overwrite" must not replace
                what = "un dossier" if present < 0 else f"un autre fichier ({present} octets au lieu de {upload.size})"
                _fail(
                    SftpCode.REMOTE_EXISTS,
                    f"{what} porte déjà le nom {target} sur {self._where} ; politique « {policy} »",
                    retryable=False,
                )
            version = self._next_version(version, upload.name)

        self._sweep_stale_temporaries(sftp, remote_dir, upload.name)
        temporary = posixpath.join(remote_dir, f".{upload.name}{TEMP_MARK}{secrets.token_hex(6)}")
        published = False
        try:
            sent = self._write_temporary(sftp, source, temporary, upload)
            while True:
                try:
                    how = self._publish(sftp, temporary, target, replace=replace)
                    published = True
                    break
                except _NameTaken:
                    present = self._remote_size(sftp, target)
                    if present == upload.size and not upload.resend:
                        return self._receipt(target, 0, started, already=True)
                    if policy == "fail" or present is None:
                        _fail(
                            SftpCode.REMOTE_EXISTS,
                            f"un autre fichier est apparu sous le nom {target} sur {self._where} pendant l'envoi",
                            retryable=False,
                        )
                    version = self._next_version(version, upload.name)
                    target = posixpath.join(remote_dir, versioned_name(upload.name, version))
        finally:
            if not published:
                # Whatever went wrong, nothing partial may keep a name: remove it now, or after reconnecting.
                self._discard(sftp, temporary)
        if upload.resend:
            how = f"{how}, rejeu : renvoyé" if how else "rejeu : renvoyé"
        return self._receipt(target, sent, started, already=False, how=how, version=version)

    def _sweep_stale_temporaries(self, sftp: paramiko.SFTPClient, remote_dir: str, name: str) -> None:
        """Remove this feed's temporaries left by a process killed mid-upload (best effort).

        Only names of our own pattern for this very feed are touched, and a transmission is
        claimed by one process at a time, so none of them can belong to a live upload.
        """
        prefix = f".{name}{TEMP_MARK}"
        try:
            leftovers = [entry for entry in sftp.listdir(remote_dir) if entry.startswith(prefix)]
        except (OSError, paramiko.SSHException):
            return
        for entry in leftovers:
            with contextlib.suppress(OSError, paramiko.SSHException):
                sftp.remove(posixpath.join(remote_dir, entry))

    def _next_version(self, version: int, name: str) -> int:
        if version >= MAX_VERSIONS:
            _fail(
                SftpCode.REMOTE_EXISTS,
                f"{MAX_VERSIONS} versions de {name} déjà présentes dans {self.settings.remote_dir} sur {self._where}",
                retryable=False,
            )
        return version + 1

    def _receipt(
        self, target: str, sent: int, started: float, *, already: bool, how: str = "", version: int = 0
    ) -> DeliveryReceipt:
        seconds = time.monotonic() - started
        cipher = self._ssh.local_cipher if self._ssh is not None else "?"
        extra = {
            "host": f"{self.settings.host}:{self.settings.port}",
            "cipher": cipher,
            "duration_s": f"{seconds:.3f}",
            "already_delivered": "true" if already else "false",
        }
        if already:
            detail = (
                f"déjà présent sur {self._where} avec la même taille : considéré comme livré "
                "(le nom du flux contient le début de son sha256), rien n'a été envoyé"
            )
        else:
            rate = sent / seconds / 1e6 if seconds > 0 else 0.0
            write_size = self._write_size()
            detail = (
                f"{sent} octets envoyés en {seconds:.2f} s ({rate:.1f} Mo/s), chiffrement {cipher}, "
                f"écritures de {write_size} octets, {how}"
            )
            extra["rename"] = how
            extra["write_size"] = str(write_size)
            if version:
                detail += f", version {version}"
                extra["version"] = str(version)
        return DeliveryReceipt(remote=target, bytes_sent=sent, detail=detail, extra=extra)

    # -- remote operations -----------------------------------------------------------------

    @contextlib.contextmanager
    def _remote(self, doing: str, *, missing_means_no_dir: bool = False) -> Iterator[None]:
        """Turn what paramiko raises while `doing` something remotely into a DeliveryError."""
        remote_dir = self.settings.remote_dir
        try:
            yield
        except DeliveryError:
            raise
        except PermissionError as exc:
            _fail(
                SftpCode.PERMISSION,
                f"permission refusée dans le dossier distant {remote_dir} sur {self._where} ({doing})",
                retryable=False,
                cause=exc,
            )
        except FileNotFoundError as exc:
            if missing_means_no_dir:
                _fail(
                    SftpCode.REMOTE_DIR,
                    f"le dossier distant {remote_dir} n'existe pas sur {self._where} ({doing})",
                    retryable=False,
                    cause=exc,
                )
            _fail(SftpCode.TRANSFER, f"fichier distant disparu ({doing}) sur {self._where}", retryable=True, cause=exc)
        except TimeoutError as exc:
            self._stalled = True
            _fail(
                SftpCode.TRANSFER,
                f"le serveur {self._where} ne répond plus depuis {self.settings.io_timeout:g} s ({doing})",
                retryable=True,
                cause=exc,
            )
        except (EOFError, paramiko.SSHException, ConnectionError) as exc:
            _fail(SftpCode.TRANSFER, f"connexion à {self._where} interrompue ({doing})", retryable=True, cause=exc)
        except OSError as exc:
            # An SFTP failure status (disk full, quota, server-side I/O error…) or a socket error.
            _fail(SftpCode.TRANSFER, f"échec sur {self._where} ({doing})", retryable=True, cause=exc)

    def _remote_size(self, sftp: paramiko.SFTPClient, path: str) -> int | None:
        """Size of the regular file at `path`; None if nothing is there; -1 for something else (a folder)."""
        with self._remote(f"consultation de {path}", missing_means_no_dir=False):
            try:
                attributes = sftp.stat(path)
            except FileNotFoundError:
                return None
        if attributes.st_mode is not None and not stat.S_ISREG(attributes.st_mode):
            return -1
        return attributes.st_size

    def _write_temporary(self, sftp: paramiko.SFTPClient, source: io.FileIO, temporary: str, upload: _Upload) -> int:
        with self._remote(f"création de {temporary}", missing_means_no_dir=True):
            remote = sftp.open(temporary, "wbx")  # exclusive: never truncate a file we did not create
        with self._remote(f"écriture de {temporary}"):
            try:
                sent = self._send_blocks(sftp, remote, source, upload)
                remote.close()  # waits until every pipelined write is acknowledged
            except BaseException as exc:
                self._abandon(remote, exc)
                raise
            remote_size = sftp.stat(temporary).st_size
        if remote_size != upload.size:
            _fail(
                SftpCode.TRANSFER,
                f"{temporary} fait {remote_size} octets sur {self._where} au lieu de {upload.size} après l'envoi",
                retryable=True,
            )
        return sent

    def _send_blocks(
        self, sftp: paramiko.SFTPClient, remote: paramiko.SFTPFile, source: io.FileIO, upload: _Upload
    ) -> int:
        writer = PipelinedWriter(
            sftp,
            cast(bytes, remote.handle),
            request_size=self._write_size(),
            max_outstanding=self.settings.max_outstanding_writes,
            progress=self.progress,
        )
        advise_sequential(source)
        try:
            return writer.write_all(source, upload.size)
        except SourceChanged as changed:
            _fail(
                SftpCode.SOURCE,
                f"{upload.local} a changé pendant l'envoi ({changed.read} octets lus au lieu de {upload.size})",
                retryable=False,
            )
        except SourceUnreadable as exc:
            _fail(SftpCode.SOURCE, f"lecture de {upload.local} impossible pendant l'envoi", retryable=False, cause=exc)

    def _abandon(self, remote: paramiko.SFTPFile, error: BaseException) -> None:
        """Close a failed upload's handle if the connection still works; else leave it to the disconnection."""
        connection_lost = isinstance(error, (TimeoutError, EOFError, ConnectionError, paramiko.SSHException))
        if connection_lost or self._ssh is None or not self._ssh.is_active():
            # Closing would wait for the answer to the close (io_timeout on a stalled server);
            # paramiko's __del__ only sends it without waiting (our writes are not its requests).
            return
        with contextlib.suppress(Exception):
            remote.close()

    def _write_size(self) -> int:
        """Data bytes per SFTP write: the setting or else the server's limit (32 KiB if it announces none)."""
        wanted, announced = self.settings.write_size, self._write_limit
        if wanted is None:
            return announced or SAFE_WRITE
        return wanted if announced is None else min(wanted, announced)

    def _publish(self, sftp: paramiko.SFTPClient, temporary: str, target: str, *, replace: bool) -> str:
        """Give the uploaded file its final name; returns how. Raises _NameTaken (no-clobber only)."""
        with self._remote(f"renommage de {temporary} en {target}"):
            if not replace:
                try:
                    sftp.rename(temporary, target)  # SSH_FXP_RENAME refuses an existing target
                except PermissionError:
                    raise
                except OSError as exc:
                    if isinstance(exc, (TimeoutError, ConnectionError)) or self._remote_size(sftp, target) is None:
                        raise
                    raise _NameTaken(target) from exc
                return "rename"
            if self._posix_rename:
                try:
                    sftp.posix_rename(temporary, target)
                    return "posix-rename@openssh.com"
                except PermissionError:
                    raise
                except OSError as exc:
                    # paramiko does not keep the server's extension list: "Operation unsupported"
                    # (SSH_FX_OP_UNSUPPORTED) is how a server without posix-rename answers.
                    if exc.errno is not None or "unsupported" not in str(exc).lower():
                        raise
                    self._posix_rename = False
            # Without posix-rename, replacing is remove then rename: briefly no file under the name,
            # but never a partial one.
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(temporary, target)
            return "rename (remplacement par suppression puis renommage)"

    def _discard(self, sftp: paramiko.SFTPClient, temporary: str) -> None:
        """Best effort: remove a temporary file, now if the connection still works, else later."""
        if self._stalled or self._ssh is None or not self._ssh.is_active():
            # A server that stopped answering would make us wait io_timeout once more.
            self._orphans.append(temporary)
            return
        try:
            sftp.remove(temporary)
        except FileNotFoundError:
            pass
        except (OSError, EOFError, paramiko.SSHException):
            self._orphans.append(temporary)

    def _sweep_orphans(self, sftp: paramiko.SFTPClient) -> None:
        orphans, self._orphans = self._orphans, []
        for temporary in orphans:
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                sftp.remove(temporary)

    # -- connection ------------------------------------------------------------------------

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._ssh is not None and self._ssh.is_active():
            return self._sftp
        self._disconnect()
        sftp = self._connect()
        if self._orphans:
            self._sweep_orphans(sftp)
        return sftp

    def _connect(self) -> paramiko.SFTPClient:
        settings = self.settings
        key = self._private_key()
        known = self._known_host_keys()
        sock = self._tcp_connect()
        try:
            ssh = paramiko.Transport(sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE)
        except BaseException:
            sock.close()
            raise
        try:
            ssh.banner_timeout = ssh.handshake_timeout = ssh.auth_timeout = settings.connect_timeout
            ssh.channel_timeout = settings.connect_timeout
            options = ssh.get_security_options()
            options.ciphers = _prefer(options.ciphers, PREFERRED_CIPHERS)
            options.digests = _prefer(options.digests, PREFERRED_MACS)
            if known:
                # Ask for the key type we know, or the server may well show another one of its keys.
                options.key_types = _prefer(options.key_types, _algorithms_for(known))
            try:
                ssh.start_client(timeout=settings.connect_timeout)
            except IncompatiblePeer as exc:
                _fail(
                    SftpCode.UNSUPPORTED,
                    f"aucun algorithme SSH commun avec {self._where}",
                    retryable=False,
                    cause=exc,
                )
            except (paramiko.SSHException, EOFError, OSError) as exc:
                _fail(
                    SftpCode.CONNECT,
                    f"négociation SSH impossible avec {self._where} (le service répond-il en SSH ?)",
                    retryable=True,
                    cause=exc,
                )
            self._check_host_key(ssh.get_remote_server_key(), known)
            self._authenticate(ssh, key)
            sftp = self._open_sftp(ssh)
            self._write_limit = _server_write_limit(sftp)
        except BaseException:
            ssh.close()
            raise
        self._ssh, self._sftp = ssh, sftp
        self.connections_opened += 1
        return sftp

    def _tcp_connect(self) -> socket.socket:
        settings = self.settings
        try:
            sock = socket.create_connection((settings.host, settings.port), timeout=settings.connect_timeout)
        except socket.gaierror as exc:
            _fail(SftpCode.CONNECT, f"nom d'hôte SFTP introuvable : {settings.host} (DNS)", retryable=True, cause=exc)
        except TimeoutError as exc:
            _fail(
                SftpCode.CONNECT,
                f"{settings.host}:{settings.port} ne répond pas (délai de {settings.connect_timeout:g} s dépassé)",
                retryable=True,
                cause=exc,
            )
        except ConnectionRefusedError as exc:
            _fail(
                SftpCode.CONNECT,
                f"connexion refusée par {settings.host}:{settings.port} (serveur SFTP arrêté ?)",
                retryable=True,
                cause=exc,
            )
        except OSError as exc:
            _fail(SftpCode.CONNECT, f"{settings.host}:{settings.port} injoignable", retryable=True, cause=exc)
        if settings.tcp_nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            # paramiko retries a blocked socket send forever; the kernel gives up after this instead
            # when the server stops acknowledging (or keeps a zero window).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(settings.io_timeout * 1000))
        return BufferedSocket(sock)

    def _known_host_keys(self) -> dict[str, paramiko.PKey]:
        """Keys known_hosts pins for this host and port, by key type (empty without known_hosts)."""
        path = self.settings.known_hosts_file
        if path is None:
            return {}
        try:
            host_keys, self._revoked = _read_known_hosts(path)
        except (OSError, UnicodeDecodeError) as exc:
            _fail(SftpCode.CONFIG, f"fichier known_hosts illisible : {path}", retryable=False, cause=exc)
        entries = host_keys.lookup(self._host_key_name)
        return {} if entries is None else {key_type: entries[key_type] for key_type in entries}

    @property
    def _host_key_name(self) -> str:
        host, port = self.settings.host, self.settings.port
        return host if port == 22 else f"[{host}]:{port}"

    def _check_host_key(self, presented: paramiko.PKey, known: dict[str, paramiko.PKey]) -> None:
        """Refuse any host key not pinned by the settings; nothing is ever added anywhere."""
        settings = self.settings
        shown = f"{presented.get_name()} {host_key_fingerprint(presented)}"
        if presented.get_base64() in self._revoked:
            _fail(
                SftpCode.HOSTKEY_MISMATCH,
                f"le serveur {self._host_key_name} présente {shown}, marquée @revoked dans "
                f"{settings.known_hosts_file} — connexion refusée",
                retryable=False,
            )
        if settings.known_hosts_file is not None:
            expected = known.get(presented.get_name())
            if expected is None:
                known_types = ", ".join(sorted(known)) or "aucune"
                _fail(
                    SftpCode.HOSTKEY_UNKNOWN,
                    f"clé d'hôte inconnue pour {self._host_key_name} dans {settings.known_hosts_file} "
                    f"(clés connues : {known_types}) ; le serveur présente {shown} — connexion refusée",
                    retryable=False,
                )
            if expected.asbytes() != presented.asbytes():
                _fail(
                    SftpCode.HOSTKEY_MISMATCH,
                    f"la clé d'hôte de {self._host_key_name} a changé : le serveur présente {shown}, "
                    f"{settings.known_hosts_file} attend {host_key_fingerprint(expected)} — connexion refusée "
                    "(usurpation possible, ou clé renouvelée : vérifier auprès du partenaire)",
                    retryable=False,
                )
        if (
            settings.host_key_fingerprint is not None
            and host_key_fingerprint(presented) != settings.host_key_fingerprint
        ):
            _fail(
                SftpCode.HOSTKEY_MISMATCH,
                f"la clé d'hôte de {settings.host}:{settings.port} ne correspond pas à l'empreinte épinglée "
                f"{settings.host_key_fingerprint} : le serveur présente {shown} — connexion refusée",
                retryable=False,
            )

    def _authenticate(self, ssh: paramiko.Transport, key: paramiko.PKey) -> None:
        username = self.settings.username
        try:
            remaining = ssh.auth_publickey(username, key)
        except paramiko.AuthenticationException as exc:
            _fail(
                SftpCode.AUTH,
                f"authentification par clé refusée pour {self._where} (clé {host_key_fingerprint(key)} "
                "absente des clés autorisées du compte ?)",
                retryable=False,
                cause=exc,
            )
        except (paramiko.SSHException, EOFError, OSError) as exc:
            _fail(
                SftpCode.CONNECT,
                f"connexion à {self._where} coupée pendant l'authentification",
                retryable=True,
                cause=exc,
            )
        if remaining or not ssh.is_authenticated():
            _fail(
                SftpCode.AUTH,
                f"{self._where} exige d'autres méthodes d'authentification que la clé ({', '.join(remaining)})",
                retryable=False,
            )

    def _open_sftp(self, ssh: paramiko.Transport) -> paramiko.SFTPClient:
        try:
            channel = ssh.open_session(
                window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE, timeout=self.settings.connect_timeout
            )
            channel.settimeout(self.settings.io_timeout)
            channel.invoke_subsystem("sftp")
            return paramiko.SFTPClient(channel)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if ssh.is_active() and not isinstance(exc, (TimeoutError, EOFError)):
                _fail(SftpCode.UNSUPPORTED, f"{self._where} refuse le sous-système sftp", retryable=False, cause=exc)
            _fail(
                SftpCode.CONNECT, f"connexion à {self._where} coupée à l'ouverture de SFTP", retryable=True, cause=exc
            )

    # -- private key -----------------------------------------------------------------------

    def _private_key(self) -> paramiko.PKey:
        if self._key is None:
            self._key = self._load_private_key()
        return self._key

    def _load_private_key(self) -> paramiko.PKey:
        settings = self.settings
        if settings.private_key_env is not None:
            where = f"la variable d'environnement {settings.private_key_env}"
            text = os.environ.get(settings.private_key_env)
            if text is None or not text.strip():
                _fail(SftpCode.CONFIG, f"clé privée SFTP : {where} n'est pas définie ou est vide", retryable=False)
            if "\\n" in text and "\n" not in text.strip():
                text = text.replace("\\n", "\n")  # a key pasted on one line by a CI secret store
            data = text.strip().encode("utf-8") + b"\n"
        else:
            assert settings.private_key_file is not None  # the settings validator guarantees one source
            where = f"le fichier {settings.private_key_file}"
            try:
                data = settings.private_key_file.read_bytes()
            except OSError as exc:
                _fail(SftpCode.CONFIG, f"clé privée SFTP : {where} est illisible", retryable=False, cause=exc)
        passphrase: str | None = None
        if settings.passphrase_env is not None:
            passphrase = os.environ.get(settings.passphrase_env)
            if passphrase is None:
                _fail(
                    SftpCode.CONFIG,
                    f"phrase de passe de la clé SFTP : la variable d'environnement {settings.passphrase_env} "
                    "n'est pas définie",
                    retryable=False,
                )
        return _parse_private_key(data, passphrase, where)


def _parse_private_key(data: bytes, passphrase: str | None, where: str) -> paramiko.PKey:
    """A paramiko key from OpenSSH or PEM text; errors name where the key came from, never its content."""
    password = passphrase.encode("utf-8") if passphrase is not None else None
    try:
        try:
            loaded: object = serialization.load_ssh_private_key(data, password=password)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        if passphrase is None:
            _fail(
                SftpCode.CONFIG,
                f"clé privée SFTP ({where}) chiffrée : indiquer passphrase_env",
                retryable=False,
                cause=exc,
            )
        try:  # a passphrase for a key that has none: harmless, as with OpenSSH
            return _parse_private_key(data, None, where)
        except DeliveryError:
            _fail(SftpCode.CONFIG, f"clé privée SFTP ({where}) inutilisable", retryable=False, cause=exc)
    except (ValueError, UnsupportedAlgorithm, binascii.Error) as exc:
        hint = " ou phrase de passe erronée" if passphrase is not None else ""
        _fail(
            SftpCode.CONFIG,
            f"clé privée SFTP ({where}) illisible : format non reconnu{hint}",
            retryable=False,
            cause=exc,
        )
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    elif isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    else:
        _fail(SftpCode.CONFIG, f"clé privée SFTP ({where}) : type {type(loaded).__name__} non géré", retryable=False)
    try:
        return key_class.from_private_key(io.StringIO(data.decode("utf-8")), password=passphrase)
    except (paramiko.SSHException, ValueError, UnicodeDecodeError) as exc:
        _fail(SftpCode.CONFIG, f"clé privée SFTP ({where}) inutilisable", retryable=False, cause=exc)


class _SftpRequests(Protocol):
    # paramiko's request primitive, as its own posix_rename() uses it; not in its public API.
    def _request(self, t: int, *args: object) -> tuple[int | None, paramiko.Message | None]: ...


def _server_write_limit(sftp: paramiko.SFTPClient) -> int | None:
    """Largest write the server says it accepts (limits@openssh.com), None when it says nothing."""
    try:
        kind, reply = cast(_SftpRequests, sftp)._request(CMD_EXTENDED, "limits@openssh.com")
        if kind != CMD_EXTENDED_REPLY or reply is None:
            return None
        max_packet, _max_read, max_write = reply.get_int64(), reply.get_int64(), reply.get_int64()
    except (AttributeError, TypeError, OSError, EOFError, paramiko.SSHException):
        return None  # not OpenSSH, too old, or paramiko changed: stay with the safe size
    limits = [value for value in (max_write, max_packet - 1024) if value > 0]  # 0: "no limit"
    return max(4096, min([*limits, MAX_WRITE_SIZE]))


def _read_known_hosts(path: Path) -> tuple[paramiko.HostKeys, set[str]]:
    """The host keys of an OpenSSH known_hosts file, and the keys it marks `@revoked`.

    Read line by line because paramiko's own loader stops at marker lines (`@revoked`,
    `@cert-authority`). Like OpenSSH, lines that cannot be parsed are skipped; host certificates
    (`@cert-authority`) are not supported, so such lines pin nothing.
    """
    host_keys = paramiko.HostKeys()
    revoked: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            fields = line.split()
            if fields[0] == "@revoked" and len(fields) >= 4:
                revoked.add(fields[3])
            continue
        try:
            entry = HostKeyEntry.from_line(line, number)
        except (paramiko.SSHException, InvalidHostKey, ValueError):
            continue
        if entry is not None and entry.key is not None:
            for hostname in entry.hostnames:
                host_keys.add(hostname, entry.key.get_name(), entry.key)
    return host_keys, revoked


def _algorithms_for(known: dict[str, paramiko.PKey]) -> list[str]:
    """Host key algorithms to ask for, from the key types in known_hosts."""
    algorithms: list[str] = []
    for key_type in known:
        if key_type == "ssh-rsa":
            algorithms += ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        else:
            algorithms.append(key_type)
    return algorithms
