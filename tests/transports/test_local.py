"""Local folder transport: atomic copies, exists policies, idempotent repeats, permission and I/O errors."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.outbox.feed_file import FeedFileWriter
from gateway.transports.base import DeliveryError, DeliveryReceipt, FeedToDeliver, versioned_name
from gateway.transports.local import LocalFolderSettings, LocalFolderTransport
from gateway.transports.registry import make_transport, transport_settings

EXPORTED_AT = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<lheo xmlns="http://lheo.gouv.fr/2.3"><offres/></lheo>\n' * 50
NOBODY = 65534


def make_feed(folder: Path, xml: bytes = XML, feed_id: str = "feed-1") -> FeedToDeliver:
    writer = FeedFileWriter(folder, EXPORTED_AT)
    writer.write(xml)
    return writer.commit().to_deliver(feed_id, "intercarif")


@pytest.fixture
def feed(tmp_path: Path) -> FeedToDeliver:
    return make_feed(tmp_path / "outbox" / "intercarif")


def deliver(folder: Path, feed: FeedToDeliver, **options: object) -> DeliveryReceipt:
    with LocalFolderTransport(LocalFolderSettings.model_validate({"path": folder, **options})) as transport:
        return transport.deliver(feed)


def deliver_error(folder: Path, feed: FeedToDeliver, **options: object) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver(folder, feed, **options)
    return caught.value


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_copies_the_gz_and_the_xml_without_leaving_temporaries(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    receipt = deliver(drop, feed)

    assert listing(drop) == sorted([feed.name, feed.gz_path.name])  # no dot-files left behind
    assert (drop / feed.name).read_bytes() == feed.path.read_bytes()
    assert (drop / feed.gz_path.name).read_bytes() == feed.gz_path.read_bytes()
    assert receipt.remote == str(drop / feed.name)
    assert receipt.bytes_sent == feed.size + feed.gz_size
    assert receipt.extra == {"gz": str(drop / feed.gz_path.name)}
    assert receipt.http_status is None


def test_copy_gz_off_copies_only_the_xml(tmp_path: Path, feed: FeedToDeliver) -> None:
    receipt = deliver(tmp_path / "share", feed, copy_gz=False)
    assert listing(tmp_path / "share") == [feed.name]
    assert receipt.bytes_sent == feed.size and "gz" not in receipt.extra


def test_renamed_into_place_from_a_dot_temporary_in_the_same_folder(
    tmp_path: Path, feed: FeedToDeliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "share"
    seen: list[tuple[Path, Path, list[str]]] = []
    real_link = os.link

    def spying_link(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        seen.append((Path(source), Path(target), listing(drop)))
        real_link(source, target)

    monkeypatch.setattr(os, "link", spying_link)
    deliver(drop, feed)

    assert [target.name for _, target, _ in seen] == [feed.gz_path.name, feed.name]  # the .gz first
    for temporary, target, _ in seen:
        assert temporary.parent == target.parent == drop
        assert temporary.name.startswith(f".{target.name}.part-")
    # When the .gz is published, both complete copies already sit under their temporary names.
    assert [name for name in seen[0][2] if not name.startswith(".")] == []
    assert len(seen[0][2]) == 2
    assert listing(drop) == sorted([feed.name, feed.gz_path.name])


def test_failed_copy_leaves_no_temporary(tmp_path: Path, feed: FeedToDeliver, monkeypatch: pytest.MonkeyPatch) -> None:
    drop = tmp_path / "share"

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    error = deliver_error(drop, feed)
    assert (error.code, error.retryable) == ("LOCAL_IO", True)
    assert "No space left" in error.message
    assert listing(drop) == []


def test_same_name_and_size_already_there_is_already_delivered(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    deliver(drop, feed)
    before = {name: (drop / name).stat().st_mtime_ns for name in listing(drop)}

    for policy in ("fail", "overwrite", "versioned"):
        again = deliver(drop, feed, exists_policy=policy)
        assert again.bytes_sent == 0 and again.extra["already_delivered"] == "true"
        assert again.remote == str(drop / feed.name)
    assert {name: (drop / name).stat().st_mtime_ns for name in listing(drop)} == before


def test_half_delivered_pair_is_completed(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    drop.mkdir()
    shutil.copyfile(feed.gz_path, drop / feed.gz_path.name)  # an earlier run stopped after the .gz
    receipt = deliver(drop, feed)
    assert receipt.bytes_sent == feed.size
    assert (drop / feed.name).read_bytes() == feed.path.read_bytes()


def _squat(drop: Path, feed: FeedToDeliver) -> bytes:
    """Another file under the feed's name, of another size."""
    drop.mkdir(exist_ok=True)
    other = b"<lheo>someone else's file</lheo>\n"
    (drop / feed.name).write_bytes(other)
    return other


def test_exists_policy_fail(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    other = _squat(drop, feed)
    error = deliver_error(drop, feed, exists_policy="fail")
    assert (error.code, error.retryable) == ("LOCAL_EXISTS", False)
    assert feed.name in error.message
    assert (drop / feed.name).read_bytes() == other
    assert listing(drop) == [feed.name]  # not even the .gz was written


def test_exists_policy_fail_is_the_default() -> None:
    assert LocalFolderSettings(path=Path("x")).exists_policy == "fail"


def test_exists_policy_overwrite(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    _squat(drop, feed)
    receipt = deliver(drop, feed, exists_policy="overwrite")
    assert (drop / feed.name).read_bytes() == feed.path.read_bytes()
    assert receipt.remote == str(drop / feed.name)
    assert listing(drop) == sorted([feed.name, feed.gz_path.name])


def test_exists_policy_versioned(tmp_path: Path, feed: FeedToDeliver) -> None:
    drop = tmp_path / "share"
    other = _squat(drop, feed)
    receipt = deliver(drop, feed, exists_policy="versioned")

    v1 = versioned_name(feed.name, 1)
    assert v1 == feed.name.removesuffix(".xml") + ".1.xml"  # the SFTP transport's scheme
    assert versioned_name(feed.gz_path.name, 1) == v1 + ".gz"
    assert receipt.remote == str(drop / v1)
    assert "version 1" in receipt.detail
    assert (drop / feed.name).read_bytes() == other
    assert (drop / v1).read_bytes() == feed.path.read_bytes()
    assert (drop / versioned_name(feed.gz_path.name, 1)).read_bytes() == feed.gz_path.read_bytes()
    # Delivering again finds version 1 and copies nothing.
    again = deliver(drop, feed, exists_policy="versioned")
    assert (again.remote, again.bytes_sent) == (str(drop / v1), 0)
    # Another squatter on version 1 pushes the next delivery to version 2.
    (drop / v1).write_bytes(b"<lheo/>")
    third = deliver(drop, feed, exists_policy="versioned")
    assert third.remote == str(drop / versioned_name(feed.name, 2))


def test_name_taken_between_check_and_rename_is_not_clobbered(
    tmp_path: Path, feed: FeedToDeliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "share"
    real_link = os.link

    def racing_link(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(target).name == feed.name:
            Path(target).write_bytes(b"written by another process meanwhile")
        real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    error = deliver_error(drop, feed, copy_gz=False)
    assert error.code == "LOCAL_EXISTS"
    assert (drop / feed.name).read_bytes() == b"written by another process meanwhile"
    assert listing(drop) == [feed.name]


def test_folder_is_created_but_not_a_missing_parent(tmp_path: Path, feed: FeedToDeliver) -> None:
    deliver(tmp_path / "new-folder", feed)
    assert (tmp_path / "new-folder" / feed.name).exists()
    error = deliver_error(tmp_path / "unmounted-share" / "feeds", feed)
    assert (error.code, error.retryable) == ("LOCAL_IO", True)
    assert "unmounted-share" in error.message


def test_folder_under_a_regular_file_cannot_be_created(tmp_path: Path, feed: FeedToDeliver) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    error = deliver_error(tmp_path / "a-file" / "share", feed)
    assert (error.code, error.retryable) == ("LOCAL_IO", False)
    error = deliver_error(tmp_path / "a-file", feed)
    assert (error.code, error.retryable) == ("LOCAL_IO", False)


def test_source_missing_from_the_outbox(tmp_path: Path, feed: FeedToDeliver) -> None:
    feed.gz_path.unlink()
    error = deliver_error(tmp_path / "share", feed)
    assert (error.code, error.retryable) == ("LOCAL_SOURCE", False)
    assert feed.gz_path.name in error.message
    assert deliver(tmp_path / "share", feed, copy_gz=False).bytes_sent == feed.size
    with feed.path.open("ab") as grown:
        grown.write(b"<!-- changed since it was listed -->")
    assert deliver_error(tmp_path / "other-share", feed, copy_gz=False).code == "LOCAL_SOURCE"


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """Outside pytest's root-only tmp tree, so that an unprivileged process can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="lheo-local-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def _deliver_as_nobody(folder: Path, feed: FeedToDeliver) -> str:
    """Deliver in a child process that dropped root; returns the error code (or "OK")."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = "CHILD_FAILED"
        try:
            signal.alarm(10)  # forked beside the HTTP receiver's thread: never hang the parent
            os.close(read_end)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                deliver(folder, feed)
                code = "OK"
            except DeliveryError as error:
                code = f"{error.code}:{error.retryable}"
        finally:
            os.write(write_end, code.encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as result:
        answer = result.read().decode()
    os.waitpid(pid, 0)
    return answer


def test_permission_denied_is_not_retryable(world_readable_dir: Path) -> None:
    outbox = world_readable_dir / "outbox"
    feed = make_feed(outbox)
    for path in (feed.path, feed.gz_path):
        path.chmod(0o644)
    outbox.chmod(0o755)
    drop = world_readable_dir / "read-only-share"
    drop.mkdir()
    drop.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

    if os.geteuid() != 0:
        error = deliver_error(drop, feed)
        assert (error.code, error.retryable) == ("LOCAL_PERMISSION", False)
    else:
        # root ignores permissions: check as an unprivileged user in a child process.
        answer = _deliver_as_nobody(drop, feed)
        if answer == "CHILD_FAILED":
            pytest.skip("running as root and cannot drop to an unprivileged user to test permissions")
        assert answer == "LOCAL_PERMISSION:False", f"child process answered {answer!r}"
    assert listing(drop) == []


def test_settings_refuse_unknown_fields_and_policies() -> None:
    with pytest.raises(ValidationError):
        LocalFolderSettings.model_validate({"path": "/srv/feeds", "exists_policy": "skip"})
    with pytest.raises(ValidationError):
        LocalFolderSettings.model_validate({"path": "/srv/feeds", "host": "sftp.example"})


def test_registry_builds_the_local_transport_from_its_kind(tmp_path: Path, feed: FeedToDeliver) -> None:
    chosen = transport_settings({"kind": "local", "path": str(tmp_path / "share"), "exists_policy": "versioned"})
    assert isinstance(chosen, LocalFolderSettings)
    transport = make_transport(chosen)
    try:
        assert isinstance(transport, LocalFolderTransport)
        assert transport.deliver(feed).remote == str(tmp_path / "share" / feed.name)
    finally:
        transport.close()
    with pytest.raises(ValidationError):
        transport_settings({"kind": "ftp", "path": "/srv"})
    with pytest.raises(ValidationError, match="sftp"):  # `kind` picks the model that reports the error
        transport_settings({"kind": "sftp", "path": "/srv"})


def test_registry_knows_the_sftp_kind() -> None:
    from gateway.transports.sftp import SftpTransport
    from gateway.transports.sftp_settings import SftpSettings

    chosen = transport_settings(
        {
            "kind": "sftp",
            "host": "sftp.partner.example",
            "username": "carif",
            "remote_dir": "/in",
            "private_key_file": "/etc/lheo/id_ed25519",
            "host_key_fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
        }
    )
    assert isinstance(chosen, SftpSettings)
    transport = make_transport(chosen)  # connects on first delivery only
    try:
        assert isinstance(transport, SftpTransport)
    finally:
        transport.close()


@pytest.mark.parametrize("policy", ["fail", "overwrite", "versioned"])
def test_a_replay_sends_again_even_over_a_complete_copy(tmp_path: Path, feed: FeedToDeliver, policy: str) -> None:
    drop = tmp_path / "share"
    deliver(drop, feed)
    for name in listing(drop):  # same size, other bytes: shows whether anything was written
        (drop / name).write_bytes(b"\0" * (drop / name).stat().st_size)
    receipt = deliver(drop, dataclasses.replace(feed, resend=True), exists_policy=policy)
    assert receipt.bytes_sent == feed.size + feed.gz_size and "already_delivered" not in receipt.extra
    assert "rejeu : renvoyé" in receipt.detail
    if policy == "versioned":
        versioned = drop / versioned_name(feed.name, 1)
        assert receipt.remote == str(versioned) and versioned.read_bytes() == feed.path.read_bytes()
        assert (drop / feed.name).read_bytes() == b"\0" * feed.size  # the earlier copy is left alone
        assert "version 1" in receipt.detail
    else:
        assert receipt.remote == str(drop / feed.name)
        assert (drop / feed.name).read_bytes() == feed.path.read_bytes()
        assert (drop / feed.gz_path.name).read_bytes() == feed.gz_path.read_bytes()
    assert not [name for name in listing(drop) if name.startswith(".")]
