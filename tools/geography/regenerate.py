"""Rebuild `gateway/rules/data/geography.tsv.gz` from a pinned release of the official geography.

Source: the npm package `@etalab/decoupage-administratif` (data.gouv.fr), which republishes the
INSEE Code officiel géographique (communes, départements, régions) joined with La Poste's base
officielle des codes postaux, under the Licence Ouverte. We pin one release and check its sha512
(npm's `integrity`), so the same command always gives the same snapshot:

    python tools/geography/regenerate.py            # npm pack the pinned version, rebuild
    python tools/geography/regenerate.py --check    # rebuild in memory, compare with the shipped file
    python tools/geography/regenerate.py --tarball etalab-decoupage-administratif-6.0.0.tgz

To move to a new COG year: change PACKAGE_VERSION and PACKAGE_INTEGRITY (`npm view
@etalab/decoupage-administratif@X dist.integrity`), run it, run the geography tests, commit.

The snapshot is a gzip'd, tab-separated text file, one record a line, sorted, so a diff of two
versions reads as a diff of geography (see README "Geography data"):

    # comment lines (source, version, columns)
    R  <region>  <name>                                   INSEE regions (2 digits)
    D  <département>  <region or empty>  <name>           départements and overseas collectivités
    C  <insee>  <département>  <postcodes,>  <name>       current communes
    A  <insee>  <département>  <postcodes,>  <name>  <commune>   Paris/Lyon/Marseille arrondissements
    F  <insee>  <successors,>  <name or empty>            former codes (merged, délégué, associé)
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

PACKAGE = "@etalab/decoupage-administratif"
PACKAGE_VERSION = "6.0.0"
COG_YEAR = "2026"  # the millésime of the COG in that release (table in the package's README)
PACKAGE_INTEGRITY = "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ=="
SOURCE = f"npm:{PACKAGE}@{PACKAGE_VERSION}"

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "gateway" / "rules" / "data" / "geography.tsv.gz"

Json = dict[str, Any]


def npm_pack(directory: Path) -> Path:
    """Download the pinned tarball with the ordinary npm client (no install, no scripts run)."""
    subprocess.run(
        ["npm", "pack", "--silent", "--ignore-scripts", f"{PACKAGE}@{PACKAGE_VERSION}"],
        cwd=directory,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = directory.glob("*.tgz")
    return tarball


def check_integrity(data: bytes) -> None:
    algorithm, _, expected = PACKAGE_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{PACKAGE}@{PACKAGE_VERSION}: integrity mismatch ({algorithm}-{actual})")


def read_tarball(data: bytes) -> dict[str, list[Json]]:
    files: dict[str, list[Json]] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name in ("communes", "departements", "regions"):
            member = archive.extractfile(f"package/data/{name}.json")
            if member is None:
                raise SystemExit(f"package/data/{name}.json missing from the tarball")
            files[name] = json.load(member)
    return files


def _clean(text: str) -> str:
    # Tabs and newlines would break the format; none exist in the COG, but do not trust that.
    return " ".join(text.split())


def build_lines(communes: list[Json], departements: list[Json], regions: list[Json]) -> list[str]:
    """The snapshot's records, sorted. Pure: tested on a small fabricated extract."""
    lines: list[str] = []
    for region in regions:
        # Only INSEE regions have a 2-digit code; the overseas collectivités (975, 977, ...) are
        # listed by the package as their own "regions", which INSEE does not do.
        if len(region["code"]) == 2:
            lines.append(f"R\t{region['code']}\t{_clean(region['nom'])}")
    region_codes = {line.split("\t")[1] for line in lines}
    for dep in departements:
        region_code = dep["region"] if dep["region"] in region_codes else ""
        lines.append(f"D\t{dep['code']}\t{region_code}\t{_clean(dep['nom'])}")

    current: set[str] = set()
    successors: dict[str, set[str]] = defaultdict(set)
    former_names: dict[str, str] = {}
    for c in communes:
        kind = c["type"]
        postcodes = ",".join(sorted(set(c.get("codesPostaux", []))))
        if kind == "commune-actuelle":
            current.add(c["code"])
            lines.append(f"C\t{c['code']}\t{c['departement']}\t{postcodes}\t{_clean(c['nom'])}")
            for old in c.get("anciensCodes", []):
                successors[old].add(c["code"])
        elif kind == "arrondissement-municipal":
            current.add(c["code"])
            lines.append(f"A\t{c['code']}\t{c['departement']}\t{postcodes}\t{_clean(c['nom'])}\t{c['commune']}")
        elif kind in ("commune-deleguee", "commune-associee"):
            successors[c["code"]].add(c["chefLieu"])
            former_names.setdefault(c["code"], _clean(c["nom"]))
        else:
            raise SystemExit(f"unexpected commune type {kind!r} for {c['code']}")
    for old, new in successors.items():
        # A délégué commune often keeps the code of its commune nouvelle: the current one wins.
        if old not in current:
            lines.append(f"F\t{old}\t{','.join(sorted(new))}\t{former_names.get(old, '')}")
    order = {"R": 0, "D": 1, "C": 2, "A": 3, "F": 4}
    return sorted(lines, key=lambda line: (order[line[0]], line))


def render(lines: list[str]) -> bytes:
    header = [
        f"# source\t{SOURCE}",
        f"# integrity\t{PACKAGE_INTEGRITY}",
        f"# label\tCode officiel géographique {COG_YEAR}",
        "# from\tINSEE Code officiel géographique + La Poste base officielle des codes postaux (Licence Ouverte)",
        "# rebuilt by\ttools/geography/regenerate.py",
    ]
    text = "\n".join([*header, *lines]) + "\n"
    # mtime=0 and no file name in the gzip header: the same input gives the same bytes.
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tarball", type=Path, help="use this npm tarball instead of running npm pack")
    parser.add_argument("--check", action="store_true", help="compare with the shipped snapshot, write nothing")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)

    if args.tarball is not None:
        data = args.tarball.read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = npm_pack(Path(tmp)).read_bytes()
    check_integrity(data)
    files = read_tarball(data)
    snapshot = render(build_lines(files["communes"], files["departements"], files["regions"]))

    if args.check:
        shipped = args.output.read_bytes()
        if gzip.decompress(shipped) != gzip.decompress(snapshot):
            print(f"{args.output}: differs from {SOURCE}", file=sys.stderr)
            return 1
        same_bytes = "byte-identical" if shipped == snapshot else "same content (this zlib compresses differently)"
        print(f"{args.output}: {same_bytes} to {SOURCE}")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(snapshot)
    print(f"{args.output}: {len(snapshot)} bytes from {SOURCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
