"""French sentences for faults of the environment: OS errors (disk full, read-only…) and store errors.

Shared by the CLI (one line, exit 2) and the export (a failed destination's note), so staff
read the same words wherever a fault surfaces; the original reason stays in brackets.
"""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

_OS_REASONS = {
    errno.ENOSPC: "plus d'espace disque",
    errno.EDQUOT: "quota disque dépassé",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.EACCES: "droits insuffisants",
    errno.EPERM: "opération non permise (fichier immuable ?)",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EIO: "erreur d'entrée-sortie du disque",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier",
    errno.ELOOP: "lien symbolique en boucle",
    errno.EADDRINUSE: "adresse déjà utilisée (le port est-il pris par un autre service ?)",
    errno.ECONNREFUSED: "connexion refusée",
}

# SQLite's messages (English, stable) → what staff can do about them.
_STORE_REASONS = (
    ("readonly", "la base est en lecture seule (fichier, dossier ou disque protégé en écriture, ou immuable)"),
    ("database is locked", "la base est verrouillée par l'écriture d'un autre processus ; réessayez plus tard"),
    ("database table is locked", "la base est verrouillée par l'écriture d'un autre processus ; réessayez plus tard"),
    ("unable to open database", "impossible d'ouvrir la base (dossier absent, en lecture seule, protégé ou immuable)"),
    ("disk is full", "la base ne peut plus grandir : disque plein"),
    ("disk i/o error", "erreur d'entrée-sortie sur la base (disque plein, retiré ou défaillant)"),
    ("not a database", "le fichier de la base n'est pas une base SQLite (endommagé ?)"),
    ("malformed", "le fichier de la base est endommagé"),
)


def os_reason(exc: OSError) -> str:
    """`[Errno 28] plus d'espace disque : /outbox/x.tmp` — the French reason, the errno and the file."""
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or exc.__class__.__name__)
    where = f" : {exc.filename}" if exc.filename else ""
    return f"{reason} [errno {exc.errno}]{where}" if exc.errno else f"{reason}{where}"


def store_reason(exc: SQLAlchemyError) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(original).splitlines()[0] if str(original) else original.__class__.__name__
    for needle, reason in _STORE_REASONS:
        if needle in text.lower():
            return f"{reason} [{text}]"
    return f"erreur de la base de données [{text}]"
