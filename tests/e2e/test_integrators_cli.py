"""``ehcert admin integrator add|list`` on an acceptance platform, and none in production."""

from __future__ import annotations

import json

from tests.e2e.conftest import RunningPlatform
from typer.testing import CliRunner, Result

from ehcert.cli.main import app


def _admin(platform: RunningPlatform, *args: str) -> Result:
    settings = platform.platform.settings
    common = ["--data-dir", str(platform.data_dir), "--db", settings.database_url]
    common += ["--environment", settings.environment]
    return CliRunner().invoke(app, ["admin", "integrator", *args, *common])


def test_an_operator_registers_an_integrator_and_lists_it(env: RunningPlatform) -> None:
    added = _admin(
        env, "add", "--cbe", "0123.456.749", "--name", "Medisoft NV", "--form-reference", "RF-7"
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == (
        "Registered integrator CBE 0123456749 (Medisoft NV), request form RF-7."
    )
    listed = _admin(env, "list", "--json")
    assert listed.exit_code == 0, listed.output
    (only,) = json.loads(listed.output)["integrators"]
    assert (only["cbe"], only["name"], only["form_reference"]) == (
        "0123456749",
        "Medisoft NV",
        "RF-7",
    )
    again = _admin(env, "add", "--cbe", "0123456749", "--name", "X", "--form-reference", "RF-8")
    assert again.exit_code == 1
    assert "Integrator CBE 0123456749 is registered already." in again.output


def test_a_production_platform_has_no_integrators(production: RunningPlatform) -> None:
    for args in (
        ("add", "--cbe", "0123456749", "--name", "Medisoft NV", "--form-reference", "RF-7"),
        ("list",),
    ):
        refused = _admin(production, *args)
        assert refused.exit_code == 1, refused.output
        assert "Integrators exist only in the acceptance environment" in refused.output
