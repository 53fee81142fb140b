"""docs/integrator-guide.md runs as written against a real ``ehcert serve --demo``.

Its Python blocks are taken from the guide itself, joined in order and run by a fresh
interpreter in the demo's checkout folder, as a reader would paste them. Two things
are substituted so the test collides with nothing else on the machine: the port
(``8080``) and ``/tmp/`` (a folder of the test's). The run must end without an error
and print what each step promises.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.demo_server import serving_demo

from ehcert.core.reserved_ssins import is_reserved_test_ssin

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrator-guide.md"

pytestmark = pytest.mark.slow


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_guide_has_every_step() -> None:
    code = "\n".join(python_blocks())
    for step in ("enrol_integrator", "add_test_person", "add_test_institution",
                 "add_test_mandate", "request_test_certificate", "request_token",
                 "seal_for", "unseal_file"):  # fmt: skip
        assert step in code, step


def test_the_guides_python_runs_against_serve_demo(tmp_path: Path) -> None:
    with serving_demo(tmp_path / "checkout") as demo:
        assert "enrolment-secret.txt" in demo.printed
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        script = "\n".join(python_blocks())
        script = script.replace("127.0.0.1:8080", f"127.0.0.1:{demo.port}")
        script = script.replace("/tmp/", f"{scratch}/")
        run = subprocess.run(
            [sys.executable, "-c", script],
            cwd=demo.folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "integrator keystore:" in run.stdout and ".acc-p12" in run.stdout, output
    people = re.findall(r"^test person (\d{11}) ", run.stdout, re.MULTILINE)
    assert len(people) == 2 and all(is_reserved_test_ssin(ssin) for ssin in people), output
    assert "STS token" in run.stdout, output
    assert "the nurse reads: Test referral for room 7" in run.stdout, output
