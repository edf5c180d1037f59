"""Validate each offer's `<formation>` fragment against an LHÉO XSD as it is rendered.

LHÉO declares every element globally, so a `<formation>` is a valid root for the schema:
validating offer by offer keeps memory flat and lets one bad offer be quarantined while the
rest of the feed goes out. The schema path is configurable (the gateway's own stricter
schema by default, or the official XSD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lxml import etree


class SchemaLoadError(Exception):
    """The configured XSD cannot be read or compiled."""


@dataclass(frozen=True)
class SchemaViolation:
    path: str  # XPath of the offending node inside the fragment
    message: str  # libxml2's message, unchanged (stable, searchable)

    def french(self) -> str:
        return f"{explain_in_french(self.message)} (élément {self.path})"


_NS_PREFIX = re.compile(r"\{[^}]*\}")
_FACETS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"Element '([^']+)': \[facet 'maxLength'\] The value has a length of '(\d+)'; "
            r"this exceeds the allowed maximum length of '(\d+)'"
        ),
        "« {0} » est trop long : {1} caractères pour {2} au plus",
    ),
    (
        re.compile(
            r"Element '([^']+)': \[facet 'minLength'\] The value has a length of '(\d+)'; "
            r"this underruns the allowed minimum length of '(\d+)'"
        ),
        "« {0} » est trop court ou vide : {1} caractère(s) pour {2} au moins",
    ),
    (
        re.compile(r"Element '([^']+)': \[facet 'pattern'\] The value '(.*)' is not accepted by the pattern"),
        "« {0} » a une valeur au format incorrect : « {1} »",
    ),
    (
        re.compile(r"Element '([^']+)': \[facet 'enumeration'\] The value '(.*)' is not an element of the set"),
        "« {0} » a une valeur non prévue par le dictionnaire LHÉO : « {1} »",
    ),
    (
        re.compile(r"Element '([^']+)': This element is not expected"),
        "« {0} » n'est pas attendu à cet endroit (ordre ou nombre d'éléments)",
    ),
    (
        re.compile(r"Element '([^']+)': Missing child element\(s\)"),
        "« {0} » est incomplet : un élément obligatoire manque",
    ),
]


def explain_in_french(message: str) -> str:
    """A staff-readable French sentence for the common libxml2 schema messages."""
    plain = _NS_PREFIX.sub("", message)
    for pattern, template in _FACETS:
        match = pattern.search(plain)
        if match:
            return "Schéma LHÉO : " + template.format(*match.groups())
    return "Schéma LHÉO : " + plain


class ValidatesFragments(Protocol):
    def violations_in(self, document: bytes) -> list[SchemaViolation]: ...


class FragmentValidator:
    def __init__(self, schema_path: Path) -> None:
        try:
            self.schema = etree.XMLSchema(etree.parse(str(schema_path)))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise SchemaLoadError(f"cannot load XSD {schema_path}: {exc}") from exc
        self.schema_path = schema_path
        # Our own text only, but never let a fragment pull in entities or the network.
        self._parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    def violations_in(self, document: bytes) -> list[SchemaViolation]:
        """Parse a standalone fragment and validate it (parsing is part of the check)."""
        try:
            element = etree.fromstring(document, self._parser)
        except etree.XMLSyntaxError as exc:
            return [SchemaViolation(path="/", message=f"XML mal formé : {exc}")]
        return self.violations(element)

    def violations(self, element: etree._Element) -> list[SchemaViolation]:
        if self.schema.validate(element):
            return []
        return [
            SchemaViolation(path=entry.path or "", message=entry.message)
            for entry in iter(self.schema.error_log)  # type: ignore[call-overload]
        ]
