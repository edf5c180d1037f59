#!/usr/bin/env bash
# One entry point for a fresh machine: sets up .venv, then runs the demo job or the tests.
#   ./dev.sh demo   import the bundled sample offers and export every destination (SQLite + outbox/)
#   ./dev.sh test   lint, type-check and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Re-install only when pyproject.toml changed since the last install.
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        # pip relays the build backend's notices even with --quiet (setuptools' "Editable
        # installation" box, index warnings): keep them in a log, shown only if the install fails.
        local log="$VENV/install.log"
        echo "installation des dépendances dans $VENV (journal : $log)…" >&2
        if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
               "$VENV/bin/python" -m pip install --quiet -e '.[dev]'; } >"$log" 2>&1; then
            cat "$log" >&2
            echo "échec de l'installation (journal complet : $log)" >&2
            exit 1
        fi
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

case "${1:-}" in
    demo)
        shift
        ensure_venv
        exec "$VENV/bin/lheo-gateway" demo "$@"
        ;;
    test)
        shift
        ensure_venv
        # Real servers for the tests (OpenSSH's sshd, PostgreSQL); installed only when missing.
        scripts/install-test-deps.sh
        # The PostgreSQL-backed tests must run here, not be skipped (tests/pg_server.py starts it).
        export LHEO_TEST_POSTGRESQL=required
        "$VENV/bin/ruff" check gateway tests bench
        "$VENV/bin/mypy" gateway bench
        exec "$VENV/bin/pytest" -q "$@"
        ;;
    *)
        echo "usage: $0 demo|test" >&2
        exit 2
        ;;
esac
