"""Schemas shared by the validation tests.

The gateway's own schema ships with the repository (``xsd/``). The official LHÉO 2.3 XSD is
an outside oracle kept next to the repository (``../shared/lheo``); tests that need it are
skipped, with the reason, when it is not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY_XSD = REPO_ROOT / "xsd" / "lheo-2.3-gateway.xsd"
OFFICIAL_XSD = REPO_ROOT.parent / "shared" / "lheo" / "lheo-2.3.xsd"


@pytest.fixture(scope="session")
def gateway_xsd_path() -> Path:
    return GATEWAY_XSD


@pytest.fixture(scope="session")
def gateway_schema(gateway_xsd_path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(gateway_xsd_path)))


@pytest.fixture(scope="session")
def official_xsd_path() -> Path:
    if not OFFICIAL_XSD.is_file():
        pytest.skip(f"official LHÉO 2.3 XSD (test oracle) not found at {OFFICIAL_XSD}")
    return OFFICIAL_XSD


@pytest.fixture(scope="session")
def official_schema(official_xsd_path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(official_xsd_path)))
