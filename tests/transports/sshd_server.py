"""A real OpenSSH sshd on 127.0.0.1 for the SFTP tests and the SFTP benchmark.

`running_sshd(tmp_dir)` starts `/usr/sbin/sshd -D -e -f <generated sshd_config>` on a free port
with a host key and a client key generated in `tmp_dir` (generated once, then reused, so a second
server started over the same directory presents the same host key), waits until it answers with
an SSH banner, and stops it — and every per-connection child — on exit.

Logins never happen as root: root ignores file permissions, so the permission tests would prove
nothing. When the tests run as root (CI), a throw-away system user is created for the server's
lifetime and deleted afterwards; users left behind by a crashed run are removed the next time.
Otherwise the server runs as, and accepts only, the current user.

`tmp_dir` and its parents must be traversable by that user (sshd reads the authorized key as the
login user); pytest's own tmp directories are 0700, so callers use `tempfile.mkdtemp` + chmod.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import resource
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
HOST = "127.0.0.1"
_USER_COMMENT = "lheo-gateway sftp tests (pid {pid})"
_USER_PREFIX = "lgw-sftp-"


class SshdUnavailable(RuntimeError):
    """sshd (or ssh-keygen) is not installed: run scripts/install-test-deps.sh."""


def sshd_missing_reason() -> str | None:
    """Why the real-server tests cannot run here, or None when they can."""
    if not SSHD.exists():
        return f"{SSHD} not found: run scripts/install-test-deps.sh (installs openssh-server)"
    if shutil.which(SSH_KEYGEN) is None:
        return "ssh-keygen not found: run scripts/install-test-deps.sh (installs openssh-client)"
    return None


def fingerprint_of_public_key_line(line: str) -> str:
    """`SHA256:…` fingerprint of an OpenSSH public key line, exactly as `ssh-keygen -lf` prints it."""
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def fingerprint_of_public_key_file(path: Path) -> str:
    return fingerprint_of_public_key_line(path.read_text(encoding="ascii"))


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS may hand it out again later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class SshKeys:
    host_key: Path
    host_key_pub: Path
    client_key: Path
    client_key_pub: Path


def ensure_keys(directory: Path) -> SshKeys:
    """ed25519 host and client keys in `directory`, generated on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = SshKeys(
        host_key=directory / "ssh_host_ed25519_key",
        host_key_pub=directory / "ssh_host_ed25519_key.pub",
        client_key=directory / "client_ed25519_key",
        client_key_pub=directory / "client_ed25519_key.pub",
    )
    for private, comment in ((keys.host_key, "lheo-test-host"), (keys.client_key, "lheo-test-client")):
        if not private.exists():
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(private)],
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
    # sshd reads AuthorizedKeysFile as the login user.
    keys.client_key_pub.chmod(0o644)
    return keys


# ---------------------------------------------------------------------------------------------
# The login user


def _pid_alive(pid: int) -> bool:
    return bool(psutil.pid_exists(pid))


def _userdel(name: str) -> None:
    uid = pwd.getpwnam(name).pw_uid
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and uid in (uids.real, uids.effective):
            with contextlib.suppress(psutil.Error):
                process.kill()
    result = subprocess.run(["userdel", name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        subprocess.run(["userdel", "--force", name], capture_output=True, text=True, check=False)


def _remove_stale_test_users() -> None:
    """Delete test users whose creating process is gone (a run that crashed before its teardown)."""
    for entry in pwd.getpwall():
        if not entry.pw_name.startswith(_USER_PREFIX) or not entry.pw_gecos.startswith("lheo-gateway sftp tests"):
            continue
        try:
            pid = int(entry.pw_gecos.rsplit("pid ", 1)[1].rstrip(")"))
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            _userdel(entry.pw_name)


@contextlib.contextmanager
def login_user(home: Path) -> Iterator[str]:
    """A non-root account sshd can log in: a temporary system user when root, else the current user."""
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.geteuid()).pw_name
        return
    if shutil.which("useradd") is None:
        raise SshdUnavailable("running as root but `useradd` is missing: cannot create a non-root login user")
    _remove_stale_test_users()
    name = _USER_PREFIX + secrets.token_hex(4)
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            str(home),
            "--shell",
            "/bin/sh",
            "--comment",
            _USER_COMMENT.format(pid=os.getpid()),
            # "*" rather than useradd's default "!": sshd refuses "!"-locked accounts when UsePAM is off.
            "--password",
            "*",
            name,
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield name
    finally:
        _userdel(name)


# ---------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class SshdInfo:
    """A running sshd: where it listens, who may log in, with which key, and how to pin its host key."""

    host: str
    port: int
    username: str
    keys: SshKeys
    host_key_fingerprint: str  # "SHA256:…" as ssh-keygen -lf prints it
    known_hosts: Path  # one line pinning the host key for [127.0.0.1]:port
    pid: int
    workdir: Path  # sshd_config, log, pid file
    log: Path

    @property
    def client_key(self) -> Path:
        return self.keys.client_key

    def make_remote_dir(self, path: Path, mode: int = 0o755) -> Path:
        """Create `path` owned by the login user (so that user, not root, decides what is writable)."""
        path.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(self.username)
        if os.geteuid() == 0:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(mode)
        return path

    def connection_processes(self) -> list[psutil.Process]:
        """The per-connection sshd processes (all descendants of the listener)."""
        try:
            return list(psutil.Process(self.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def signal_connections(self, signum: int) -> int:
        """Send `signum` to every per-connection process; returns how many were signalled."""
        count = 0
        for process in self.connection_processes():
            with contextlib.suppress(psutil.Error):
                process.send_signal(signum)
                count += 1
        return count

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _check_traversable(path: Path, username: str) -> None:
    if username == pwd.getpwuid(os.geteuid()).pw_name:
        return
    if not path.stat().st_mode & stat.S_IROTH:
        raise RuntimeError(f"{path} is not readable by other users ({username} must read it)")
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise RuntimeError(
                f"{parent} is not traversable by other users ({username} must read {path}): "
                "create the sshd directory with tempfile.mkdtemp() and chmod it 0o755"
            )


def _write_config(
    workdir: Path, port: int, username: str, keys: SshKeys, *, sftp_subsystem: bool, extra_config: Sequence[str]
) -> Path:
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {HOST}",
                f"Port {port}",
                f"HostKey {keys.host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {keys.client_key_pub}",
                f"AllowUsers {username}",
                "AuthenticationMethods publickey",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin no",
                "UsePAM no",
                "StrictModes no",
                "UseDNS no",
                "PermitTTY no",
                "X11Forwarding no",
                "AllowTcpForwarding no",
                "AllowAgentForwarding no",
                "PrintMotd no",
                "LoginGraceTime 20",
                "MaxStartups 50",
                "LogLevel VERBOSE",
                *(["Subsystem sftp internal-sftp"] if sftp_subsystem else []),
                *extra_config,
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child, before exec: sshd and every process it forks inherit both
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _wait_for_banner(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    """True once the port answers with an SSH banner; False if sshd exited (e.g. port taken)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as probe:
                if probe.recv(64).startswith(b"SSH-2.0-"):
                    return process.poll() is None
        except OSError:
            pass
        time.sleep(0.02)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    # Per-connection children call setsid(), so they survive their parent: kill them explicitly.
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    # Dead is enough: a zombie whose parent died waits for PID 1 to reap it, which may take a while.
    deadline = time.monotonic() + 5
    while any(_running(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.01)


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


@contextlib.contextmanager
def running_sshd(
    tmp_dir: Path,
    *,
    port: int | None = None,
    username: str | None = None,
    sftp_subsystem: bool = True,
    extra_config: Sequence[str] = (),
    file_size_limit: int | None = None,
) -> Iterator[SshdInfo]:
    """Run sshd on 127.0.0.1 (on `port`, or a free one) until the block exits.

    Keys live in `tmp_dir/keys` and are reused by any later server over the same `tmp_dir`.
    `username`: reuse an existing login (e.g. the one of another server); by default one is
    provided for the lifetime of this server (see `login_user`). `extra_config`: more
    sshd_config lines (e.g. `Ciphers aes128-ctr`); `sftp_subsystem=False` serves no SFTP at all.
    `file_size_limit`: no file the server writes may grow past this many bytes (RLIMIT_FSIZE, with
    SIGXFSZ ignored so that the write fails with EFBIG): a full disk, as far as SFTP can tell.
    """
    reason = sshd_missing_reason()
    if reason is not None:
        raise SshdUnavailable(reason)
    tmp_dir = tmp_dir.resolve()
    keys = ensure_keys(tmp_dir / "keys")
    if os.geteuid() == 0:
        # Privilege separation directory; Debian creates it only from its init scripts.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if username is None:
            username = stack.enter_context(login_user(tmp_dir))
        _check_traversable(keys.client_key_pub, username)
        attempts = 1 if port is not None else 5
        last_log = ""
        for _ in range(attempts):
            chosen = port if port is not None else free_port()
            workdir = tmp_dir / f"sshd-{chosen}"
            workdir.mkdir(parents=True, exist_ok=True)
            config = _write_config(
                workdir, chosen, username, keys, sftp_subsystem=sftp_subsystem, extra_config=extra_config
            )
            log = workdir / "sshd.log"
            with log.open("ab") as log_file:
                process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,
                    preexec_fn=None if file_size_limit is None else _limit_file_size(file_size_limit),
                )
            if _wait_for_banner(process, chosen, time.monotonic() + 10):
                break
            _stop(process)
            last_log = log.read_text(encoding="utf-8", errors="replace")
        else:
            raise RuntimeError(f"sshd did not start on {HOST}:{port or 'a free port'}:\n{last_log}")
        stack.callback(_stop, process)
        known_hosts = workdir / "known_hosts"
        public_line = keys.host_key_pub.read_text(encoding="ascii").split()
        known_hosts.write_text(f"[{HOST}]:{chosen} {public_line[0]} {public_line[1]}\n", encoding="ascii")
        yield SshdInfo(
            host=HOST,
            port=chosen,
            username=username,
            keys=keys,
            host_key_fingerprint=fingerprint_of_public_key_file(keys.host_key_pub),
            known_hosts=known_hosts,
            pid=process.pid,
            workdir=workdir,
            log=log,
        )
