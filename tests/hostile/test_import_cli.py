"""Hostile import files through the command line: exit 2 and one French line for a bad file, never a traceback.

Every file-level case goes through Typer's runner (in-process, fast); one case of each family
also goes through the real `python -m gateway.cli` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.app import app
from tests.conftest import REPO, standalone_config
from tests.hostile import corpus
from tests.hostile.conftest import assert_french
from tests.hostile.corpus import Case, cases, materialise

CASES = cases()
FILE_CASES = [case for case in CASES if case.expect == "file"]
runner = CliRunner()


# One case of each family that once crashed, through a real process (each costs about a second).
SAMPLE = [
    next(iter(family()))
    for family in corpus.FAMILIES
    if family.__name__
    in {"_non_json_numbers", "_deep_nesting", "_unreadable_paths", "_surrogates",
        "_updates_of_live_offer"}
]  # fmt: skip


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standalone_config(tmp_path_factory.mktemp("hostile-cli"))


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.name for case in FILE_CASES])
def test_bad_file_exits_2_with_one_french_line(case: Case, config_file: Path, tmp_path: Path) -> None:
    path = materialise(case, tmp_path)
    result = runner.invoke(app, ["--config", str(config_file), "offers", "import", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert "aucune offre n'a été importée" in result.output and case.message in result.output
    assert "Traceback" not in result.output
    assert_french(result.output)


@pytest.mark.parametrize("case", SAMPLE, ids=[case.name for case in SAMPLE])
def test_real_cli(case: Case, config_file: Path, tmp_path: Path) -> None:
    path = materialise(case, tmp_path)
    env = os.environ | {"COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--config", str(config_file), "offers", "import", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == (2 if case.expect == "file" else 0), done.stdout + done.stderr
    assert_french(done.stderr)
    if case.expect == "file":
        assert done.stderr.strip().count("\n") == 0, done.stderr  # one line
        assert case.message in done.stderr
