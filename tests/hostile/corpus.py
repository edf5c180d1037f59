"""A generator of hostile import files: every way an offers file can be wrong, malicious or unlucky.

Each case is a file (name and bytes, or a path trick) and what the gateway must do with it:
refuse the whole file (exit 2, a French message naming the file and line, the store unchanged),
or reject the bad record with a code at a path and import exactly the good ones. A good
record of a fresh reference rides along in record-level cases, so "the rest is imported" is
checked too; `update` cases re-import an offer the base store already holds and exports.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.case import FRESH, HOSTILE, STORED, Case
from tests.hostile.families_file import (
    _bad_encodings,
    _deep_nesting,
    _huge_integers,
    _non_json_numbers,
    _not_json,
    _unreadable_paths,
    _wrong_shapes,
)
from tests.hostile.families_record import (
    _boms_and_layouts,
    _dates_out_of_range,
    _huge_and_odd_texts,
    _invisible_titles,
    _null_and_types,
    _reference_oddities,
    _surrogates,
    _updates_of_live_offer,
)

__all__ = ["FAMILIES", "FRESH", "HOSTILE", "STORED", "Case", "cases", "materialise"]

FAMILIES = (
    _not_json,
    _non_json_numbers,
    _huge_integers,
    _deep_nesting,
    _bad_encodings,
    _wrong_shapes,
    _unreadable_paths,
    _surrogates,
    _dates_out_of_range,
    _reference_oddities,
    _invisible_titles,
    _null_and_types,
    _huge_and_odd_texts,
    _boms_and_layouts,
    _updates_of_live_offer,
)


def cases() -> list[Case]:
    found = [case for family in FAMILIES for case in family()]
    names = [case.name for case in found]
    assert len(names) == len(set(names)), "case names must be unique"
    return found


def materialise(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.filename
    if case.setup is not None:
        case.setup(folder)
    elif case.content is not None:
        path.write_bytes(case.content)
    return path
