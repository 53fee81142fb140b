"""The web UI's request flow with a digital key (the hybrid method), in chromium.

A foreign care provider, known by a BIS number, was enrolled at a registration office;
in the Certificate Manager they choose "Request with a digital key", type the username,
the password and the authenticator app's code, and get a keystore. A replayed code is
refused in French with the platform's sentence. The codes come from the platform's
FixedClock. Against the session's platform (SQLite).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyotp
import pytest
from tests.e2e.browser import wait_for_job

from ehcert.core.documents import IdentityDocument
from ehcert.core.identity import Identity
from ehcert.manager.keystores import find_keystores
from ehcert.pki.keystore import read_keystore_file
from ehcert.registry.offices import OfficeRegistry

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from tests.e2e.conftest import Actors, RunningPlatform

FOREIGN = "01410100115"
OFFICER = "85071212390"
USERNAME = "ana.pereira"
KEY_PASSWORD = "uma palavra-passe comprida"
NEW_PASSWORD = "Winter-Garden-42!"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("running", ["sqlite"], indirect=True),
]


@pytest.fixture
def enrolled(env: RunningPlatform, actors: Actors) -> pyotp.TOTP:
    """Ana Pereira's digital key, as the office issued it (the office's own path, signed
    with the officer's certificate, is tested in test_foreign_providers.py)."""
    now = env.clock.now()
    actors.add_provider(FOREIGN, first_name="Ana", last_name="Pereira")
    offices = OfficeRegistry(env.platform.database)
    offices.add_office("IXELLES", "Commune d'Ixelles", "municipality", now=now)
    offices.add_officer(OFFICER, "Marie", "Dubois", "IXELLES", now=now)
    officer = Identity("certificate", OFFICER, "Marie Dubois", certificate_serial="1f")
    document = IdentityDocument("passport", "CB1234567", "PT", dt.date(2031, 5, 1))
    enrolment = env.platform.offices.register(
        officer, FOREIGN, document, username=USERNAME, password=KEY_PASSWORD, now=now
    )
    totp = pyotp.parse_uri(enrolment.provisioning_uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp


def _fill(page: Page, code: str, *, username: str = USERNAME) -> None:
    page.locator("#username").fill(username)
    page.locator("#key_password").fill(KEY_PASSWORD)
    page.locator("#code").fill(code)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#new_password_confirm").fill(NEW_PASSWORD)


def test_a_foreign_provider_requests_with_a_digital_key_in_the_web_ui(
    actors: Actors, ui: str, english: Page, env: RunningPlatform, enrolled: pyotp.TOTP
) -> None:
    page = english
    page.goto(ui)
    page.get_by_role("link", name="Request with a digital key (no Belgian eID)").click()
    assert "For care providers without a Belgian eID" in page.inner_text("main")
    _fill(page, "12")
    page.get_by_role("button", name="Request the certificate").click()
    assert page.inner_text("#code-error").strip() == (
        "Give the 6 digits your authenticator app shows now."
    )
    # Secrets are never sent back; the username is.
    assert page.locator("#username").input_value() == USERNAME
    assert page.locator("#key_password").input_value() == ""

    _fill(page, enrolled.at(env.clock.now()))
    page.get_by_role("button", name="Request the certificate").click()
    wait_for_job(page, "Done")
    assert "Your new certificate is in the keystore SSIN=01410100115" in page.inner_text("main")
    [keystore] = find_keystores(actors.directory / "keystores")
    entry = read_keystore_file(keystore.path, NEW_PASSWORD).authentication()
    assert f"SSIN={FOREIGN}" in entry.certificate.subject.rfc4514_string()


def test_a_replayed_code_is_refused_in_french(
    ui: str, french: Page, env: RunningPlatform, enrolled: pyotp.TOTP
) -> None:
    code = enrolled.at(env.clock.now())
    for attempt in ("first", "replay"):
        french.goto(f"{ui}digital-key")
        assert "Demander un certificat avec une clé numérique" in french.inner_text("h1")
        _fill(french, code)
        french.get_by_role("button", name="Demander le certificat").click()
        wait_for_job(french, "Terminé" if attempt == "first" else "Cela n'a pas fonctionné")
    refusal = french.inner_text(".refusal")
    assert "Votre identité n'a pas pu être vérifiée." in refusal
    assert "This code was already used; a code is valid once." in refusal
