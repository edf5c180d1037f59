#!/usr/bin/env bash
# System packages the test suite needs beyond .venv: OpenSSH's sshd for the real-server SFTP tests
# (tests/transports), PostgreSQL for the store tests, the `sftp` client for bench/sftp_benchmark.py,
# Chromium and curl for tests/web.
# Idempotent and silent when everything is already there; installs with apt-get otherwise.
set -euo pipefail

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v sftp >/dev/null 2>&1 || missing+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
# Debian's Chromium for the console's browser tests (driven by Playwright, never downloaded by it),
# curl for the API's conditional and range requests.
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Debian's PostgreSQL server binaries (/usr/lib/postgresql/*/bin): the store, delivery and
# scheduling tests also run against a throwaway cluster that tests/pg_server.py starts itself.
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

# Deduplicate (openssh-client can be listed twice).
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: apt-get not found; please install: ${packages[*]}" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-test-deps: not root and no sudo; please install: ${packages[*]}" >&2
        exit 1
    fi
fi

echo "install-test-deps: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
