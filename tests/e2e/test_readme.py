"""The README's "Five minutes with ehcert" runs as written, and ``make run`` agrees with it.

The shell block is taken from README.md itself and run by bash against a real
``ehcert serve --demo`` process, in a folder laid out as the checkout is (``data`` and
``.venv/bin/ehcert``). Only two things are substituted, so the test cannot collide with
anything else on the machine: the port (``8080``) and ``/tmp/`` (a folder of the test's).
Every command must succeed except the ones the README itself marks with
``; echo "exit $?"``, and those must exit 1. The lines ``serve --demo`` prints to try
must be lines of the README.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.demo_server import EHCERT, Demo, serving_demo

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    """The first ``sh`` block after the "Five minutes" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Five minutes with ehcert") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "README.md lost its walkthrough block"
    return match.group(1)


def commands(script: str) -> list[str]:
    """The script's commands, continuation lines joined and spaces collapsed."""
    joined = script.replace("\\\n", " ")
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with serving_demo(tmp_path_factory.mktemp("checkout")) as running:
        yield running


def test_make_run_prints_lines_of_the_readme(demo: Demo) -> None:
    readme = {
        line.replace("$E ", ".venv/bin/ehcert ").replace("8080", str(demo.port))
        for line in commands(walkthrough())
    }
    tries = demo.printed[demo.printed.index("Try, in another terminal") :].splitlines()[1:]
    printed = [" ".join(line.split()) for line in tries if line.startswith("  ")]
    assert len(printed) >= 3
    for line in printed:
        assert line in readme, f"make run prints a line the README does not have: {line}"


def test_the_walkthrough_runs_as_written(demo: Demo) -> None:
    scratch = demo.folder / "tmp"
    scratch.mkdir()
    script = walkthrough().replace("127.0.0.1:8080", f"127.0.0.1:{demo.port}")
    script = script.replace("/tmp/", f"{scratch}/")
    failures = demo.folder / "failed.txt"
    prelude = f"trap 'echo \"$BASH_COMMAND\" >> {failures}' ERR\n"
    run = subprocess.run(
        ["bash", "-c", prelude + script],
        cwd=demo.folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PATH": os.environ.get("PATH", "")},
    )
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    failed = failures.read_text().splitlines() if failures.exists() else []
    expected = [line.split(";")[0].strip() for line in commands(script) if 'echo "exit $?"' in line]
    assert len(expected) == 3
    assert [" ".join(f.split()) for f in failed] == expected, output
    assert run.stdout.count("exit 1") == 3, output
    assert "Discharge letter for room 12" in run.stdout, output
    assert "Verification successful" in output, output
    assert "Revoked Certificates" in run.stdout, output
    assert run.returncode == 0, output


def test_the_demo_registers_one_software_integrator(demo: Demo) -> None:
    printed = " ".join(demo.printed.split())
    assert (
        "Demo Software NV (software integrator, CBE 0123456749, request form DEMO-FORM-0001)"
        in printed
    )
    listed = subprocess.run(
        [str(EHCERT), "admin", "integrator", "list", "--data-dir", "data", "--json"],
        cwd=demo.folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    (only,) = json.loads(listed.stdout)["integrators"]
    assert (only["cbe"], only["form_reference"]) == ("0123456749", "DEMO-FORM-0001")
