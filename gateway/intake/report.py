"""What an import tells its caller: one result per record of the file, in file order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import overload

from gateway.problems import Problem
from gateway.store.queries import load_problems_json


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"  # stored, but not exportable until fixed
    REPEATED = "repeated"  # the reference comes again later in the file: that later record wins


class StoredProblems(Sequence[Problem]):
    """The problems of a stored row, read from its JSON text only when asked for.

    A nightly file's report has one result per record, most of them unchanged rows whose
    problems nobody looks at (the CLI shows 200 lines at most): building their models up front
    took a third of an unchanged re-import and about 1.6 KB per record of memory."""

    __slots__ = ("_loaded", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._loaded: list[Problem] | None = None

    def _list(self) -> list[Problem]:
        if self._loaded is None:
            self._loaded = load_problems_json(self._text)
        return self._loaded

    @overload
    def __getitem__(self, index: int) -> Problem: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Problem]: ...
    def __getitem__(self, index: int | slice) -> Problem | Sequence[Problem]:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._list())

    def __bool__(self) -> bool:
        return self._text.strip("[] \t\r\n") != ""  # an empty JSON array: no parse needed to know

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares like a list

    def __repr__(self) -> str:
        return repr(self._list())


@dataclass(frozen=True)
class RecordResult:
    line: int
    reference: str | None
    outcome: Outcome
    problems: Sequence[Problem]
    # A rejected update of a valid offer: the offer keeps (and still exports) its last valid version.
    kept_last_valid: bool = False


@dataclass
class ImportReport:
    source: str
    results: list[RecordResult] = field(default_factory=list)

    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.results)
