"""Command-line values checked up front, each mistake answered by one French line (exit 2).

`parse_moment` reads the dates and times the options take: ISO 8601 (`2026-11-27`,
`2026-11-27T08:00`, `2026-11-27T08:00:00Z`, `…+01:00`); without a zone, UTC.
"""

from __future__ import annotations

import errno
import os
import socket
from datetime import UTC, date, datetime, time


class ArgumentProblem(ValueError):
    """A value of the command line that cannot be used; the message is French."""


EXAMPLE = "2026-11-27, 2026-11-27T08:00 ou 2026-11-27T08:00:00Z"
# Feeds write dates on 8 digits and campaigns reach a year ahead: moments outside these years
# are typing mistakes (or would overflow), not exports anyone means to run.
FIRST_YEAR, LAST_YEAR = 1970, 2999


def parse_moment(value: str | None, option: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.min)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentProblem(
            f"{option} : « {value} » n'est pas une date ISO 8601 (exemples : {EXAMPLE} ; sans fuseau : UTC)"
        ) from None
    return _in_range(moment if moment.tzinfo else moment.replace(tzinfo=UTC), option, value)


def _in_range(moment: datetime, option: str, value: str) -> datetime:
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:  # 9999-12-31T23:00-05:00 is past year 9999 in UTC
        year = LAST_YEAR + 1
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ArgumentProblem(
            f"{option} : « {value} » est hors des années admises ({FIRST_YEAR} à {LAST_YEAR}, en temps universel)"
        )
    return moment


def source_date_epoch() -> datetime | None:
    """SOURCE_DATE_EPOCH (reproducible builds): a number of seconds since 1970."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        moment = datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise ArgumentProblem(f"SOURCE_DATE_EPOCH : « {epoch} » n'est pas un nombre de secondes depuis 1970") from None
    return _in_range(moment, "SOURCE_DATE_EPOCH", epoch)


def check_port_free(host: str, port: int) -> None:
    """Refuse to start a second `run`/`serve` on a port already taken (the usual cause: one already runs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ArgumentProblem(
                    f"le port {port} de {host} est déjà utilisé (une autre passerelle `run` ou `serve` "
                    "tourne-t-elle ?) : arrêtez-la, ou changez [web] port dans la configuration"
                ) from None
            if exc.errno == errno.EACCES:
                raise ArgumentProblem(f"le port {port} de {host} est réservé : choisissez [web] port ≥ 1024") from None
            raise ArgumentProblem(f"impossible d'écouter sur {host}:{port} : {exc.strerror or exc}") from None
