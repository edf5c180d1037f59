"""The bytes around the formations of a feed: XML declaration, `<lheo>` root and `<offres>`.

Formations are rendered one by one (`gateway.lheo.formation`) and written between the
head and the tail, so a feed of any size is produced without holding a tree in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.lheo.formation import LHEO_NAMESPACE


def export_timestamp(moment: datetime) -> str:
    """`horodatage-export` value: xs:dateTime in UTC, with the `T` LHÉO requires."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_head(exported_at: datetime) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<lheo xmlns="{LHEO_NAMESPACE}" horodatage-export="{export_timestamp(exported_at)}">\n'.encode()
        + b"<offres>\n"
    )


DOCUMENT_TAIL = b"</offres>\n</lheo>\n"
