"""NIST PKITS through ``pki.pathval`` and pyhanko-certvalidator, held at docs/conformance.md.

``scripts/pkits_report.py`` runs both validators on every case and wrote the counts in
docs/conformance.md; this test runs it again. Ours may not fall below the recorded
counts, below the peer's passes on the same cases, or below 95 % of the applicable ones.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():  # the script is not a package module: load it by path
    spec = importlib.util.spec_from_file_location(
        "pkits_report", ROOT / "scripts" / "pkits_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases(report):
    return report.run()


def test_every_pkits_case_is_run(cases) -> None:
    assert len(cases) > 200  # PKITS has 203 cases named Valid... or Invalid...
    assert {c.ours for c in cases} <= {"pass", "fail"}
    assert not [c.name for c in cases if c.ours_detail.startswith("CRASH")]


def test_counts_do_not_regress(report, cases) -> None:
    now = report.counts(cases)
    recorded = report.recorded_counts((ROOT / "docs" / "conformance.md").read_text())
    assert now.applicable == recorded.applicable
    assert now.ours_pass >= recorded.ours_pass
    assert now.ours_pass_all >= recorded.ours_pass_all
    assert now.ours_pass >= now.peer_pass
    assert now.ours_pass >= 0.95 * now.applicable


def test_no_applicable_invalid_case_is_accepted(cases) -> None:
    accepted = [
        c.name for c in cases if c.section is None and not c.expected_valid and c.ours == "fail"
    ]
    assert accepted == []
