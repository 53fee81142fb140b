"""The Certificate Manager web UI in a real browser against a real platform.

Debian's chromium (headless) driven by Playwright (:mod:`tests.e2e.browser`) goes
through the keystore flows of ``ehcert manager ui`` served on loopback, talking over
HTTP to the session's platform (SQLite backend; the storage backends are covered by the
other end-to-end tests): renewal refused outside its window then done inside it,
revocation with its confirmation step, password change, in English and in French (and
one Dutch page), with the refusals a person meets: weak or mismatched password, wrong
password, renewal too early. The flows that start with the eID (request, revoking with
the eID) are in ``test_web_eid.py``. The manager and the platform share one
:class:`FixedClock`.

With ``EHCERT_SCREENSHOTS=DIR`` set, each step is also saved as ``DIR/<name>.png``
(``make screenshots`` regenerates the user guide's images that way).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect
from tests.e2e.browser import card, new_page, shot, unlock, wait_for_job

from ehcert.client.results import CertificateState
from ehcert.core.errors import EhcertError
from ehcert.manager.keystores import find_keystores
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from tests.e2e.conftest import Actors, RunningPlatform


NEW_PASSWORD = "Winter-Garden-42!"
# The actors' certificate is issued at T0 = 2026-03-02 09:30 UTC for 36 months.
EXPIRES = "2029-03-02"
RENEWAL_OPENS = "2028-12-02"
INSIDE_WINDOW = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("running", ["sqlite"], indirect=True),
]


# --- renew --------------------------------------------------------------------------------------


def test_renewal_is_refused_before_the_window_and_done_inside_it(
    actors: Actors, ui: str, english: Page, env: RunningPlatform
) -> None:
    actors.add_provider()
    old = actors.keystore(actors.eid())
    page = english
    page.goto(ui)
    assert "Locked" in page.inner_text("main")
    shot(page, "07-home-locked")
    unlock(page, "not the password")
    assert "The keystore password is wrong." in page.inner_text(".flash-error")
    unlock(page, actors.password)
    assert "Unlocked SSIN=79021802145." in page.inner_text("main")

    key = find_keystores(old.parent)[0].key
    page.goto(f"{ui}renew/{key}")
    refusal = page.inner_text(".refusal")
    assert f"Renewal is not possible yet. It opens on {RENEWAL_OPENS}" in refusal
    assert f"expires on {EXPIRES}" in refusal
    assert page.get_by_role("button", name="Renew").count() == 0
    shot(page, "08-renew-too-early")

    env.clock.set(INSIDE_WINDOW)
    page.goto(ui)
    text = card(page, "BRYAN BROUCKAERT")
    assert f"Renew it now: it expires on {EXPIRES}." in text
    assert "open now" in text
    shot(page, "09-home-renewal-open")
    page.get_by_role("link", name="Renew").click()
    page.get_by_label("Password of this keystore").fill("wrong password")
    page.get_by_role("button", name="Renew").click()
    assert "The keystore password is wrong." in page.inner_text("#password-error")
    page.get_by_label("Password of this keystore").fill(actors.password)
    shot(page, "10-renew-form")
    page.get_by_role("button", name="Renew").click()
    wait_for_job(page, "Done")
    main = page.inner_text("main")
    assert f"The old keystore {old.name} is kept" in main
    assert "2032-01-15" in main  # 36 months from the renewal
    shot(page, "11-renew-done")

    files = find_keystores(old.parent)
    assert len(files) == 2
    assert old.read_bytes() and read_keystore_file(old, actors.password)


# --- revoke -------------------------------------------------------------------------------------


def test_revocation_names_the_certificate_and_needs_the_password_in_french(
    actors: Actors, ui: str, french: Page, env: RunningPlatform
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    serial = format(
        read_keystore_file(path, actors.password).authentication().certificate.serial_number, "x"
    )
    key = find_keystores(path.parent)[0].key
    page = french
    page.goto(f"{ui}revoke/{key}")
    assert "Déverrouillez d'abord le keystore" in page.inner_text("main")
    page.get_by_label("Mot de passe de ce keystore").fill(actors.password)
    page.get_by_role("button", name="Déverrouiller").click()
    expect(page.get_by_role("heading", name="Révoquer un certificat")).to_be_visible()
    page.get_by_label("La clé ou son mot de passe est peut-être connu d'une autre personne").check()
    shot(page, "12-revoke-reason")
    page.get_by_role("button", name="Continuer").click()

    warning = page.inner_text(".warning")
    assert (
        f"Vous allez révoquer le certificat {serial} de BRYAN BROUCKAERT (NISS 79021802145)"
        in warning
    )
    assert f"valable jusqu'au {EXPIRES}" in warning
    assert "Motif : La clé ou son mot de passe est peut-être connu" in page.inner_text("main")
    shot(page, "13-revoke-confirm")
    page.get_by_label("Mot de passe de ce keystore").fill("mauvais mot de passe")
    page.get_by_role("button", name="Révoquer ce certificat").click()
    assert "Le mot de passe du keystore est incorrect." in page.inner_text("#password-error")
    with env.client() as client:
        assert client.status(serial).status is CertificateState.VALID

    page.get_by_label("Mot de passe de ce keystore").fill(actors.password)
    page.get_by_role("button", name="Révoquer ce certificat").click()
    assert f"Le certificat {serial} de NISS 79021802145 est révoqué." in page.inner_text("main")
    text = card(page, "BRYAN BROUCKAERT")
    assert "Ce certificat est révoqué et ne peut plus être utilisé." in text
    assert page.locator("article").get_by_role("link", name="Révoquer", exact=True).count() == 0
    shot(page, "14-home-revoked")
    with env.client() as client:
        status = client.status(serial)
    assert status.status is CertificateState.REVOKED
    assert status.revocation_reason == "keyCompromise"


# --- change password ----------------------------------------------------------------------------


def test_password_change_in_french_refuses_a_wrong_old_password(
    actors: Actors, ui: str, french: Page
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    before = path.read_bytes()
    key = find_keystores(path.parent)[0].key
    page = french
    page.goto(f"{ui}password/{key}")

    page.get_by_label("Mot de passe actuel").fill("mauvais mot de passe")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("court")
    page.get_by_label("Nouveau mot de passe (confirmation)").fill("court")
    page.get_by_role("button", name="Changer le mot de passe").click()
    assert "trop court : utilisez au moins 12 caractères" in page.inner_text("#new_password-error")

    page.get_by_label("Mot de passe actuel").fill("mauvais mot de passe")
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nouveau mot de passe (confirmation)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer le mot de passe").click()
    wait_for_job(page, "Cela n'a pas fonctionné")
    assert "Le mot de passe du keystore est incorrect." in page.inner_text(".refusal")
    assert path.read_bytes() == before
    shot(page, "fr-password-wrong")

    page.goto(f"{ui}password/{key}")
    page.get_by_label("Mot de passe actuel").fill(actors.password)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nouveau mot de passe (confirmation)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer le mot de passe").click()
    wait_for_job(page, "Terminé")
    assert f"Le mot de passe de {path.name} a été changé." in page.inner_text("main")
    with pytest.raises(EhcertError):
        read_keystore_file(path, actors.password)
    assert read_keystore_file(path, NEW_PASSWORD).authentication()


def test_password_change_screens_in_english(actors: Actors, ui: str, english: Page) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    key = find_keystores(path.parent)[0].key
    page = english
    page.goto(f"{ui}password/{key}")
    page.get_by_label("Current password").fill(actors.password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    shot(page, "15-password-form")
    page.get_by_role("button", name="Change the password").click()
    wait_for_job(page, "Done")
    assert f"The password of {path.name} has been changed." in page.inner_text("main")
    shot(page, "16-password-done")


# --- languages ----------------------------------------------------------------------------------


def test_language_follows_the_browser_and_can_be_switched(ui: str, browser: Browser) -> None:
    page = new_page(browser, "nl-BE")
    try:
        page.goto(ui)
        expect(page.get_by_role("heading", name="Uw keystores")).to_be_visible()
        assert page.locator("html").get_attribute("lang") == "nl"
        page.get_by_role("link", name="Français").click()
        expect(page.get_by_role("heading", name="Vos keystores")).to_be_visible()
        page.get_by_role("link", name="Demander un nouveau certificat").first.click()
        expect(page.get_by_role("heading", name="Demander un nouveau certificat")).to_be_visible()
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Request a new certificate")).to_be_visible()
    finally:
        page.context.close()


def test_everything_is_reachable_with_the_keyboard(ui: str, english: Page) -> None:
    page = english
    page.goto(ui)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    focused = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent"))
    assert "Request a new certificate" in focused
