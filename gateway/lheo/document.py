"""The bytes around the formations of a feed: XML declaration, `<lheo>` root and `<offres>`.

Formations are serialized one by one (see `serialize_fragment`) and written between the
head and the tail, so a feed of any size is produced without holding a tree in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from gateway.lheo.formation import LHEO_NAMESPACE

_NAMESPACE_DECLARATION = f' xmlns="{LHEO_NAMESPACE}"'.encode()


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


def serialize_fragment(formation: etree._Element) -> bytes:
    """Serialize a `<formation>` for insertion under `<offres>` (namespace inherited from the root)."""
    data: bytes = etree.tostring(formation, encoding="UTF-8", pretty_print=True)
    # lxml declares the default namespace on the fragment's root; the feed's root already does.
    return data.replace(_NAMESPACE_DECLARATION, b"", 1)
