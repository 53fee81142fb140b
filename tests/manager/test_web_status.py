"""Status colours that cannot lie: without an answer from the platform, no "valid".

An unlocked keystore whose revocation status is unknown (working offline, or the
platform cannot be reached) is shown in the amber "unknown" state with the reason,
never in the green "valid" one; a revoked certificate must not look healthy offline.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest

from ehcert.core.clock import FixedClock
from ehcert.manager.keystores import find_keystores
from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.security import new_secret
from ehcert.manager.web.server import bind_loopback, running_ui

from .conftest import ISSUED_AT, PASSWORD

NOW = ISSUED_AT + dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("platform_url", "reason"),
    [
        (None, "Working offline, so a revocation would not show here."),
        (
            "http://127.0.0.1:1",
            "The platform cannot be reached, so a revocation would not show here.",
        ),
    ],
)
def test_unknown_revocation_is_amber_with_the_reason(
    keystore_dir: Path, platform_url: str | None, reason: str
) -> None:
    settings = ManagerSettings(
        keystore_dir=keystore_dir,
        platform_url=platform_url,
        secret=new_secret(),
        clock=FixedClock(NOW),
        status_timeout_seconds=2.0,
    )
    item = find_keystores(keystore_dir)[0]
    with running_ui(settings, bind_loopback(0)) as ui, httpx.Client() as client:
        home = client.get(ui)
        token = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert token is not None
        origin = ui.split("/s/", maxsplit=1)[0]
        page = client.post(
            ui + "unlock",
            data={"csrf": token.group(1), "key": item.key, "password": PASSWORD},
            headers={"Origin": origin},
            follow_redirects=True,
        )
    assert page.status_code == 200
    assert "state-unknown" in page.text
    assert "state-valid" not in page.text
    assert "Revocation status unknown." in page.text and reason in page.text
    assert "Valid. You can renew" not in page.text
