"""The Certificate Manager web UI in a real browser against a real platform.

Debian's chromium (headless) driven by Playwright goes through every flow of
``ehcert manager ui`` served on loopback, talking over HTTP to the session's platform
(SQLite backend; the storage backends are covered by the other end-to-end tests): request
for a person (PKCS#12 eID) and for an institution (eID on a PKCS#11 token), renewal
refused outside its window then done inside it, revocation with its confirmation step,
password change, in English and in French (and one Dutch page), with the refusals a
person meets: weak or mismatched password, wrong password, renewal too early, a
platform refusal. The manager and the platform share one :class:`FixedClock`.

With ``EHCERT_SCREENSHOTS=DIR`` set, each step is also saved as ``DIR/<name>.png``
(that is how the user guide's screenshots are made:
``EHCERT_SCREENSHOTS=docs/images pytest tests/e2e/test_web_ui.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect, sync_playwright

from ehcert.client.results import CertificateState
from ehcert.core.errors import EhcertError
from ehcert.manager.keystores import find_keystores
from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.security import new_secret
from ehcert.manager.web.server import bind_loopback, running_ui
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from tests.e2e.conftest import Actors, RunningPlatform, SoftHsmTokens


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEW_PASSWORD = "Winter-Garden-42!"
SCREENSHOTS = os.environ.get("EHCERT_SCREENSHOTS")
# The actors' certificate is issued at T0 = 2026-03-02 09:30 UTC for 36 months.
EXPIRES = "2029-03-02"
RENEWAL_OPENS = "2028-12-02"
INSIDE_WINDOW = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("running", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/install-system-deps.sh"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def ui(env: RunningPlatform, actors: Actors) -> Iterator[str]:
    """The manager UI on loopback over the actors' keystore folder; yields its secret URL."""
    settings = ManagerSettings(
        keystore_dir=actors.directory / "keystores",
        platform_url=env.url,
        secret=new_secret(),
        clock=env.clock,
        key_size=2048,
    )
    with running_ui(settings, bind_loopback(0)) as url:
        yield url


def _page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@pytest.fixture
def english(browser: Browser) -> Iterator[Page]:
    page = _page(browser, "en-GB")
    yield page
    page.context.close()


@pytest.fixture
def french(browser: Browser) -> Iterator[Page]:
    page = _page(browser, "fr-BE")
    yield page
    page.context.close()


def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def eid_file(actors: Actors) -> Path:
    return next(actors.directory.glob(f"eid-{actors.doctor}-*.p12"))


def wait_for_job(page: Page, finished: str) -> None:
    """The progress page refreshes itself until the job ends with ``finished`` as heading."""
    page.get_by_role("heading", name=finished).wait_for()


def card(page: Page, title: str) -> str:
    return page.locator("article", has=page.get_by_role("heading", name=title)).inner_text()


def unlock(page: Page, password: str) -> None:
    page.get_by_label("Password of this keystore").first.fill(password)
    page.get_by_role("button", name="Unlock").first.click()


# --- request ------------------------------------------------------------------------------------


def test_request_for_myself_with_strength_checks(actors: Actors, ui: str, english: Page) -> None:
    actors.add_provider()
    actors.eid()
    page = english
    page.goto(ui)
    expect(page.get_by_role("heading", name="Your keystores")).to_be_visible()
    assert "does not exist yet; your first request creates it." in page.inner_text("main")
    shot(page, "01-home-empty")

    page.get_by_role("link", name="Request a new certificate").click()
    page.get_by_label("eID file (PKCS#12)").fill(str(eid_file(actors)))
    page.get_by_label("PIN").fill("1234")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    shot(page, "02-request-form")
    page.get_by_role("button", name="Request the certificate").click()
    assert "The new password is too short: use at least 12 characters." in page.inner_text(
        "#new_password-error"
    )
    assert page.get_by_label("eID file (PKCS#12)").input_value() == str(eid_file(actors))
    assert page.get_by_label("PIN").input_value() == ""  # secrets are never sent back
    shot(page, "03-request-weak-password")

    page.get_by_label("PIN").fill("1234")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Request the certificate").click()
    assert "The two new passwords are not the same." in page.inner_text("main")

    page.get_by_label("PIN").fill("0000")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Request the certificate").click()
    assert "the PIN is wrong" in page.inner_text("#pin-error")
    assert not list(actors.directory.glob("keystores/*"))

    page.get_by_label("PIN").fill("1234")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Request the certificate").click()
    page.wait_for_url(re.compile(r"/jobs/"))
    shot(page, "04-request-progress")
    wait_for_job(page, "Done")
    (keystore,) = find_keystores(actors.directory / "keystores")
    main = page.inner_text("main")
    assert f"Your new certificate is in the keystore {keystore.path.name}." in main
    assert "SSIN=79021802145" in main
    shot(page, "05-request-done")

    page.get_by_role("link", name="Back to the list of keystores").click()
    text = card(page, "BRYAN BROUCKAERT")
    for expected in (
        "SSIN=79021802145",
        "Individual",
        "Acceptance (test)",
        EXPIRES,
        "days left: 1096",  # 2026-03-02 to 2029-03-02 spans a 29 February
        f"opens on {RENEWAL_OPENS}",
        "not revoked",
        f"Valid. You can renew it from {RENEWAL_OPENS}.",
    ):
        assert expected in text, expected
    expect(page.get_by_role("link", name="Renew")).to_be_hidden()
    shot(page, "06-home-one-keystore")
    content = read_keystore_file(keystore.path, NEW_PASSWORD)
    assert (
        content.authentication()
        .certificate.subject.rfc4514_string()
        .startswith("CN=SSIN=79021802145")
    )


def test_request_for_an_institution_in_french_with_a_pkcs11_eid(
    actors: Actors, ui: str, french: Page, softhsm_tokens: SoftHsmTokens
) -> None:
    actors.add_provider()
    token = softhsm_tokens.new("eid-ui")
    issue_test_eid(
        actors.env.platform,
        actors.doctor,
        token.pin,
        pkcs11_module=token.module,
        token_label=token.label,
    )
    page = french
    page.goto(ui + "request")
    expect(page.get_by_role("heading", name="Demander un nouveau certificat")).to_be_visible()

    def fill_and_send() -> None:
        page.get_by_label("Pour une institution dont j'ai le mandat").check()
        page.get_by_label("Institution (uniquement pour une institution)").fill(actors.hospital)
        page.get_by_label("Ma carte eID dans un lecteur de cartes (PKCS#11)").check()
        page.get_by_label("Module PKCS#11").fill(token.module)
        page.get_by_label("Libellé de la carte ou du jeton").fill(token.label)
        page.get_by_label("Code PIN").fill(token.pin)
        page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Nouveau mot de passe (confirmation)").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Demander le certificat").click()

    # The hospital is not in the registry yet: the platform refuses, said in French, with
    # the platform's own sentence kept underneath.
    fill_and_send()
    wait_for_job(page, "Cela n'a pas fonctionné")
    refusal = page.inner_text(".refusal")
    assert "71000436" in refusal
    shot(page, "fr-request-refused")

    actors.add_institution()
    page.goto(ui + "request")
    fill_and_send()
    wait_for_job(page, "Terminé")
    assert "Votre nouveau certificat se trouve dans le keystore" in page.inner_text("main")
    page.get_by_role("link", name="Retour à la liste des keystores").click()
    text = card(page, "AZ SINT-JAN BRUGGE")
    assert "NIHII-HOSPITAL=71000436" in text
    assert "Institution" in text
    assert "non révoqué" in text


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
    assert page.get_by_role("link", name="Révoquer").count() == 0
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
    page = _page(browser, "nl-BE")
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
