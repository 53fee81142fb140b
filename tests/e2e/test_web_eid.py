"""The request flow a doctor follows in the web UI, and revoking with the eID, in chromium.

The eID card is a SoftHSM2 token holding a test eID (``issue_test_eid``), found the way
a doctor's card is found: ``EHCERT_EID_PKCS11`` names the module (here SoftHSM2's, in
place of the beID middleware), the page lists the card with its holder's name read from
it, and only the PIN is asked. A PKCS#12 eID is picked with the file chooser. The next
page offers what the platform answered for that eID (``/v1/qualities``,
``/v1/application-ids``) as choices; sub-choices appear only once their holder is
chosen. In English and in French, against the session's platform (SQLite).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect
from tests.e2e.browser import card, shot, wait_for_job

from ehcert.client.results import CertificateState
from ehcert.manager.eid_middleware import EID_MODULE_VARIABLE
from ehcert.manager.keystores import find_keystores
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.pkcs11 import SOFTHSM2_MODULE

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from tests.e2e.conftest import Actors, RunningPlatform, SoftHsmToken, SoftHsmTokens

NEW_PASSWORD = "Winter-Garden-42!"
FILE_CHOICE = "An eID file (PKCS#12), for the acceptance environment"
BRYAN_CARD = "The eID card of Bryan Brouckaert (SSIN=79021802145)"
EXPIRES = "2029-03-02"
INSIDE_WINDOW = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("running", ["sqlite"], indirect=True),
]


@pytest.fixture
def eid_card(
    actors: Actors, softhsm_tokens: SoftHsmTokens, monkeypatch: pytest.MonkeyPatch
) -> SoftHsmToken:
    """The doctor's test eID on a SoftHSM2 token, its module set as the eID middleware."""
    actors.add_provider()
    token = softhsm_tokens.new("eid-card")
    issue_test_eid(
        actors.env.platform,
        actors.doctor,
        token.pin,
        pkcs11_module=token.module,
        token_label=token.label,
    )
    monkeypatch.setenv(EID_MODULE_VARIABLE, SOFTHSM2_MODULE)
    return token


@pytest.fixture
def no_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EID_MODULE_VARIABLE, raising=False)


def pick_card(page: Page, token: SoftHsmToken, label: str) -> None:
    """Choose the card in the list by the holder's name shown for it (its label)."""
    radio = page.locator(f'input[name="source"][value="card:{token.label}"]')
    shown = page.locator(f'label[for="{radio.get_attribute("id")}"]').inner_text()
    assert shown == label
    radio.check()


def send_password(page: Page, first: str, second: str, button: str) -> None:
    page.locator("#new_password").fill(first)
    page.locator("#new_password_confirm").fill(second)
    page.get_by_role("button", name=button).click()


def eid_file(actors: Actors) -> Path:
    return next(actors.directory.glob(f"eid-{actors.doctor}-*.p12"))


# --- the card, found by itself ----------------------------------------------------------------


def test_request_with_the_detected_card_then_renew_and_revoke_with_it(
    actors: Actors, ui: str, english: Page, env: RunningPlatform, eid_card: SoftHsmToken
) -> None:
    actors.add_institution()
    page = english
    page.goto(ui)
    page.get_by_role("link", name="Request a new certificate").first.click()
    expect(page.get_by_text("Step 1 of 2: your eID")).to_be_visible()
    pick_card(page, eid_card, BRYAN_CARD)
    # Nothing to type but the PIN: no module, token or key label, no file field.
    expect(page.get_by_label("PKCS#11 module")).to_be_hidden()
    expect(page.get_by_label("Card or token label")).to_be_hidden()
    expect(page.locator("#eid_file")).to_be_hidden()
    page.get_by_label(FILE_CHOICE).check()
    expect(page.locator("#eid_file")).to_be_visible()
    pick_card(page, eid_card, BRYAN_CARD)
    expect(page.locator("#eid_file")).to_be_hidden()
    shot(page, "02-request-eid")

    page.get_by_label("PIN", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    assert page.inner_text("#pin-error").strip() == "The PIN is wrong."
    assert page.get_by_label("PIN", exact=True).input_value() == ""  # never sent back
    page.get_by_label("PIN", exact=True).fill(eid_card.pin)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(re.compile(r"/request$"))
    main = page.inner_text("main")
    assert "Your eID is open: Bryan Brouckaert (SSIN=79021802145)." in main
    institution = "For the institution AZ Sint-Jan Brugge (NIHII-HOSPITAL=71000436)"
    expect(page.get_by_label(institution)).to_be_visible()
    own = page.get_by_label("The institution's own certificate (no application id)")
    expect(own).to_be_hidden()  # appears only once the institution is chosen
    expect(page.get_by_label("For myself, as a care provider")).to_be_checked()
    shot(page, "03-request-choices")
    send_password(page, "short", "short", "Request the certificate")
    assert "too short" in page.inner_text("#new_password-error")
    expect(page.get_by_label("For myself, as a care provider")).to_be_checked()
    shot(page, "03-request-weak-password")
    send_password(page, NEW_PASSWORD, NEW_PASSWORD, "Request the certificate")
    page.wait_for_url(re.compile(r"/jobs/"))
    shot(page, "04-request-progress")
    wait_for_job(page, "Done")
    shot(page, "05-request-done")
    (keystore,) = find_keystores(actors.directory / "keystores")
    first = read_keystore_file(keystore.path, NEW_PASSWORD).authentication().certificate
    assert first.subject.rfc4514_string().startswith("CN=SSIN=79021802145")

    # Renew through the UI, inside the renewal window (the keystore's password).
    env.clock.set(INSIDE_WINDOW)
    page.goto(ui)  # the new keystore is unlocked already: the request just wrote it
    page.get_by_role("link", name="Renew").click()
    page.get_by_label("Password of this keystore").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Renew").click()
    wait_for_job(page, "Done")
    assert "2032-01-15" in page.inner_text("main")
    assert len(find_keystores(actors.directory / "keystores")) == 2

    # Revoke the renewed certificate with the card: chosen from the platform's list.
    page.goto(ui)
    page.get_by_role("link", name="Revoke a certificate with your eID").click()
    pick_card(page, eid_card, BRYAN_CARD)
    page.get_by_label("PIN", exact=True).fill(eid_card.pin)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/revoke-eid$"))
    renewed_path = next(
        item.path
        for item in find_keystores(actors.directory / "keystores")
        if item.path != keystore.path
    )
    renewed = read_keystore_file(renewed_path, NEW_PASSWORD).authentication().certificate
    serial, first_serial = format(renewed.serial_number, "x"), format(first.serial_number, "x")
    page.get_by_label(f"SSIN=79021802145, valid until 2032-01-15, serial number {serial}").check()
    expect(page.get_by_label(f"serial number {first_serial}")).to_be_visible()  # also offered
    page.get_by_label("The key or its password may be known to someone else").check()
    shot(page, "12b-revoke-with-eid")
    page.get_by_role("button", name="Continue").click()
    warning = page.inner_text(".warning")
    assert f"You are about to revoke the certificate {serial} of SSIN=79021802145" in warning
    with env.client() as client:
        assert client.status(serial).status is CertificateState.VALID
    page.get_by_role("button", name="Revoke this certificate").click()
    assert f"Certificate {serial} of SSIN=79021802145 is revoked." in page.inner_text("main")
    with env.client() as client:
        status = client.status(serial)
        assert status.status is CertificateState.REVOKED
        assert status.revocation_reason == "keyCompromise"
        assert client.status(first_serial).status is CertificateState.VALID


def test_without_the_middleware_the_page_says_so_and_offers_the_file(
    actors: Actors, ui: str, english: Page, no_middleware: None
) -> None:
    page = english
    page.goto(ui + "eid/request")
    assert "The eID middleware was not found on this computer." in page.inner_text("main")
    assert page.locator('input[name="source"][value^="card:"]').count() == 0
    expect(
        page.get_by_label("An eID file (PKCS#12), for the acceptance environment")
    ).to_be_checked()
    expect(page.locator("#eid_file")).to_be_visible()


def test_institution_and_application_are_chosen_from_the_platform_in_french(
    actors: Actors, ui: str, french: Page, eid_card: SoftHsmToken
) -> None:
    actors.add_institution()
    page = french

    def open_card() -> None:
        page.goto(ui + "request")  # no eID open yet: the eID step comes first
        expect(page.get_by_text("Étape 1 sur 2 : votre eID")).to_be_visible()
        pick_card(page, eid_card, "La carte eID de Bryan Brouckaert (NISS 79021802145)")
        page.get_by_label("Code PIN", exact=True).fill(eid_card.pin)
        page.get_by_role("button", name="Continuer").click()
        page.wait_for_url(re.compile(r"/request$"))

    open_card()
    institution = "Pour l'institution AZ Sint-Jan Brugge (INAMI (hôpital) 71000436)"
    new_application = page.get_by_label("Pour une nouvelle application")
    expect(new_application).to_be_hidden()
    page.get_by_label(institution).check()
    expect(new_application).to_be_visible()
    expect(page.get_by_label("Identifiant d'application", exact=True)).to_be_hidden()
    new_application.check()
    expect(page.get_by_label("Identifiant d'application", exact=True)).to_be_visible()
    application_id = page.get_by_label("Identifiant d'application", exact=True)
    application_id.fill("LABGATEWAY")
    shot(page, "fr-request-institution")
    application_id.fill("lab gateway")
    send_password(page, NEW_PASSWORD, NEW_PASSWORD, "Demander le certificat")
    assert "compte de 1 à 30 majuscules" in page.inner_text("#new_application-0-error")
    expect(page.get_by_label(institution)).to_be_checked()
    application_id.fill("LABGATEWAY")
    send_password(page, NEW_PASSWORD, NEW_PASSWORD, "Demander le certificat")
    wait_for_job(page, "Terminé")
    (keystore,) = find_keystores(actors.directory / "keystores")
    subject = read_keystore_file(keystore.path, NEW_PASSWORD).authentication().certificate.subject
    assert "NIHII-HOSPITAL=71000436" in subject.rfc4514_string()
    assert "LABGATEWAY" in subject.rfc4514_string()

    # The platform now knows LABGATEWAY for the hospital: it is offered, not typed.
    open_card()
    page.get_by_label(institution).check()
    expect(
        page.get_by_label("Pour l'application LABGATEWAY (elle a déjà un certificat)")
    ).to_be_visible()
    page.get_by_role("button", name="Annuler").click()
    expect(page.get_by_role("heading", name="Vos keystores")).to_be_visible()


# --- a PKCS#12 eID, chosen with the file chooser ----------------------------------------------


def test_request_with_an_eid_file_chosen_in_the_file_chooser(
    actors: Actors, ui: str, english: Page, no_middleware: None
) -> None:
    actors.add_provider()
    actors.eid()
    page = english
    page.goto(ui)
    assert "Keystore folder: ~/ehealth/keystore" in page.inner_text("footer")
    shot(page, "01-home-empty")
    page.get_by_role("link", name="Request a new certificate").first.click()
    page.get_by_label(FILE_CHOICE).check()
    page.get_by_label("eID file (PKCS#12)", exact=True).set_input_files(eid_file(actors))
    page.get_by_label("PIN", exact=True).fill("0000")
    page.get_by_role("button", name="Continue").click()
    assert "the PIN is wrong or the file is damaged" in page.inner_text("#pin-error")
    expect(
        page.get_by_label("An eID file (PKCS#12), for the acceptance environment")
    ).to_be_checked()

    page.get_by_label("PIN", exact=True).fill("1234")
    page.get_by_role("button", name="Continue").click()
    assert "Choose your eID file (PKCS#12) with the button." in page.inner_text("#main")
    page.get_by_label("eID file (PKCS#12)", exact=True).set_input_files(eid_file(actors))
    page.get_by_label("PIN", exact=True).fill("1234")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/request$"))
    assert "Your eID is open: Bryan Brouckaert (SSIN=79021802145)." in page.inner_text("main")
    assert page.get_by_text("For the institution").count() == 0  # no mandate: not offered
    page.get_by_text("Type of the new keys").click()
    page.get_by_label("Key type").select_option("ec-p384")
    send_password(page, NEW_PASSWORD, NEW_PASSWORD + "x", "Request the certificate")
    assert "The two new passwords are not the same." in page.inner_text("main")
    expect(page.get_by_label("Key type")).to_have_value("ec-p384")  # kept on the way back
    send_password(page, NEW_PASSWORD, NEW_PASSWORD, "Request the certificate")
    wait_for_job(page, "Done")
    (keystore,) = find_keystores(actors.directory / "keystores")
    chosen = read_keystore_file(keystore.path, NEW_PASSWORD)
    for entry in (chosen.authentication(), *chosen.encryption_keys()):
        key = entry.private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    assert f"Your new certificate is in the keystore {keystore.path.name}." in page.inner_text(
        "main"
    )
    page.get_by_role("link", name="Back to the list of keystores").click()
    text = card(page, "BRYAN BROUCKAERT")
    assert "SSIN=79021802145" in text and EXPIRES in text and "not revoked" in text
    shot(page, "06-home-one-keystore")
    content = read_keystore_file(keystore.path, NEW_PASSWORD)
    assert (
        content.authentication()
        .certificate.subject.rfc4514_string()
        .startswith("CN=SSIN=79021802145")
    )


def test_request_with_an_eid_file_in_french_and_a_refusal_in_the_readers_words(
    actors: Actors, ui: str, french: Page, no_middleware: None
) -> None:
    eid = actors.eid()  # the doctor is not in the registry yet
    del eid
    page = french
    page.goto(ui + "eid/request")

    def open_file() -> None:
        page.get_by_label("Fichier eID (PKCS#12)", exact=True).set_input_files(eid_file(actors))
        page.get_by_label("Code PIN", exact=True).fill("1234")
        page.get_by_role("button", name="Continuer").click()
        page.wait_for_url(re.compile(r"/request$"))

    open_file()
    refusal = page.inner_text(".refusal")
    assert "La plateforme ne vous permet pas de demander un certificat avec cette eID." in refusal
    assert "79021802145" in refusal
    shot(page, "fr-request-refused")
    page.get_by_role("button", name="Fermer mon eID et revenir").click()

    actors.add_provider()
    page.goto(ui + "eid/request")
    open_file()
    assert "Votre eID est ouverte : Bryan Brouckaert (NISS 79021802145)." in page.inner_text("main")
    send_password(page, NEW_PASSWORD, NEW_PASSWORD, "Demander le certificat")
    wait_for_job(page, "Terminé")
    assert "Votre nouveau certificat se trouve dans le keystore" in page.inner_text("main")
