"""A minimal, fast writer of indented XML text for one LHÉO fragment.

Building a `<formation>` through lxml's element API costs about 2 µs per element on a small
machine (over 130 elements per offer); writing the text directly and letting libxml2 parse
it for validation is several times cheaper. The output mimics lxml's `pretty_print` layout
(two-space indent, one element per line, `<tag/>` when empty), so feeds diff line by line.
"""

from __future__ import annotations

import re

# XML 1.0 cannot carry C0 controls other than tab/LF/CR; C1 controls are legal but are always
# typing accidents in this data, and U+FFFE/U+FFFF and lone surrogates are not characters.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def long_text(value: str) -> str:
    """Multi-line text: keep line breaks (normalised to LF), drop characters XML cannot carry."""
    return _NOT_XML_TEXT.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def short_text(value: str) -> str:
    """One-line text (names, towns): drop forbidden characters and collapse whitespace."""
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value  # the usual case, decided in C without running two regexes
    return _SPACES.sub(" ", _NOT_XML_TEXT.sub("", value)).strip()


def escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(value: str) -> str:
    return escape_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;").replace("\r", "&#13;")


_PADS = ["  " * depth for depth in range(16)]


class XmlText:
    """Appends indented XML to a list of strings; `text()` joins them once at the end."""

    __slots__ = ("_depth", "_open", "parts")

    def __init__(self, depth: int = 0) -> None:
        self.parts: list[str] = []
        self._depth = depth
        self._open: list[int] = []  # index in parts of each open element's start tag

    def start(self, tag: str, attributes: str = "") -> None:
        self._open.append(len(self.parts))
        self.parts.append(f"{_PADS[self._depth]}<{tag}{attributes}>\n")
        self._depth += 1

    def end(self, tag: str) -> None:
        self._depth -= 1
        opened = self._open.pop()
        if opened == len(self.parts) - 1:  # no child was written: an empty element
            self.parts[opened] = self.parts[opened][:-2] + "/>\n"
        else:
            self.parts.append(f"{_PADS[self._depth]}</{tag}>\n")

    def leaf(self, tag: str, text: str, attributes: str = "") -> None:
        """An element with text only; `text` is escaped here."""
        if "&" in text or "<" in text or ">" in text:
            text = escape_text(text)
        self.parts.append(f"{_PADS[self._depth]}<{tag}{attributes}>{text}</{tag}>\n")

    def mark(self) -> tuple[int, int]:
        """Where the writer stands, to reuse what is written from here (see `replay`)."""
        return len(self.parts), self._depth

    def written_since(self, mark: tuple[int, int]) -> list[str]:
        return self.parts[mark[0] :]

    def replay(self, parts: list[str]) -> None:
        """Append parts recorded at the same depth (an address written several times)."""
        self.parts.extend(parts)

    def text(self) -> str:
        return "".join(self.parts)


def attribute(name: str, value: str) -> str:
    return f' {name}="{escape_attribute(value)}"'
