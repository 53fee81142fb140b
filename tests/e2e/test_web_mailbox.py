"""The eHealthBox in the Certificate Manager's web UI, in a real browser, over HTTP.

Two care providers, each in a browser context of their own (two sessions of one
manager over the keystore folder, as two doctors on one practice's machine), exchange a
message with an annex through the pages only: the sender's manager seals it for the
recipient and itself, the recipient's manager unseals it and checks both verdicts,
the annex is downloaded and compared byte for byte; out of office answers the send
until the sender confirms; receipts show on the sent message. Then paging over two
pages in French, and the Dutch pages with their refusals. The platform (SQLite; the
mailbox's storage is tested on both backends in ``test_ehbox.py``), the manager and the
SDK share one :class:`FixedClock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect
from tests.e2e.browser import new_page, shot

from ehcert.client.ehbox import EhboxClient
from ehcert.client.ehbox_messages import Draft
from ehcert.pki.keystore import read_keystore_file
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from tests.e2e.conftest import Actors, RunningPlatform

DOCTOR_A = "79021802145"
DOCTOR_B = example_ssin(7)
BOX_B = f"SSIN={DOCTOR_B}:doctor"
SCAN = b"%PDF-1.4\n% lab results of room 12\n" + bytes(range(256))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("running", ["sqlite"], indirect=True),
]


@pytest.fixture
def doctors(actors: Actors) -> dict[str, Path]:
    """Keystores of two doctors in the manager's folder, from the real request flow."""
    actors.add_provider(DOCTOR_A, first_name="Bryan", last_name="Brouckaert")
    actors.add_provider(DOCTOR_B, first_name="Ada", last_name="Peeters")
    return {
        "a": actors.keystore(actors.eid(DOCTOR_A)),
        "b": actors.keystore(actors.eid(DOCTOR_B, first_name="Ada", last_name="Peeters")),
    }


@pytest.fixture
def pages(browser: Browser) -> Iterator[dict[str, Page]]:
    opened = {"a": new_page(browser, "en-GB"), "b": new_page(browser, "en-GB")}
    yield opened
    for page in opened.values():
        page.context.close()


def open_mailbox(page: Page, ui: str, ssin: str, password: str, *, lang: str = "") -> None:
    page.goto(f"{ui}mailbox{lang}")
    page.get_by_label(ssin).check()
    page.locator("#password").fill(password)
    page.locator("form[action$='/mailbox/open'] button").click()


def test_two_providers_exchange_a_message_with_an_annex_through_the_ui(
    doctors: dict[str, Path], ui: str, pages: dict[str, Page], actors: Actors
) -> None:
    a, b = pages["a"], pages["b"]
    a.goto(f"{ui}mailbox")
    a.get_by_label(f"SSIN={DOCTOR_A}").check()
    a.get_by_label("Password of this keystore").fill("not the password")
    a.get_by_role("button", name="Open the mailbox").click()
    assert "The keystore password is wrong." in a.inner_text("#password-error")
    open_mailbox(a, ui, f"SSIN={DOCTOR_A}", actors.password)
    expect(a.get_by_role("heading", name="Inbox")).to_be_visible()
    assert "Mailbox of BRYAN BROUCKAERT" in a.inner_text("main")
    assert "There is no message in this folder." in a.inner_text("main")
    assert "0 Bytes of 1.0 GiB" in a.inner_text("main")  # the platform's quota
    shot(a, "30-mailbox-inbox-empty")

    # Dr Peeters will be away: her mailbox says so, naming Dr Brouckaert as substitute.
    open_mailbox(b, ui, f"SSIN={DOCTOR_B}", actors.password)
    b.get_by_role("link", name="Out of office").click()
    b.get_by_label("First day").fill("2026-03-05")
    b.get_by_label("Last day").fill("2026-03-01")
    b.get_by_role("button", name="Add the period").click()
    assert "The last day cannot come before the first." in b.inner_text("#end-error")
    b.get_by_label("First day").fill("2026-03-01")
    b.get_by_label("Last day").fill("2026-03-08")
    b.get_by_label("Substitutes (optional)").fill(f"SSIN={DOCTOR_A}")
    b.get_by_role("button", name="Add the period").click()
    assert "You are out of office from 2026-03-01 to 2026-03-08." in b.inner_text(".flash")
    assert f"SSIN={DOCTOR_A}" in b.inner_text("table.periods")
    shot(b, "31-mailbox-out-of-office")

    # Dr Brouckaert writes to her, with a scan as annex and the three receipts.
    a.get_by_role("link", name="New message").click()
    a.get_by_role("button", name="Seal and send").click()
    assert "Give at least one recipient." in a.inner_text("#to-error")
    assert "Write the message, or choose a file to send." in a.inner_text("#body-error")
    a.get_by_role("link", name="New message").click()
    a.get_by_label("To", exact=True).fill(f"SSIN={DOCTOR_B}")
    a.get_by_label("Title").fill("Discharge letter, room 12")
    a.get_by_label("Message", exact=True).fill("Patient discharged in good health.\nCall me.")
    a.set_input_files(
        "#annexes", files=[{"name": "lab.pdf", "mimeType": "application/pdf", "buffer": SCAN}]
    )
    for receipt in ("Publication receipt", "Reception receipt", "Read receipt"):
        a.get_by_label(receipt).check()
    shot(a, "32-mailbox-compose")
    a.get_by_role("button", name="Seal and send").click()
    expect(a.get_by_role("heading", name="Recipient out of office")).to_be_visible()
    away = a.inner_text(".warning")
    assert "Nothing has been sent yet" in away
    assert f"{BOX_B} is away from 2026-03-01 to 2026-03-08." in away
    assert f"Substitutes: SSIN={DOCTOR_A}." in away
    b.goto(f"{ui}mailbox/INBOX")
    assert "There is no message in this folder." in b.inner_text("main")
    a.get_by_role("button", name="Send it anyway").click()
    assert f"Message sent to {BOX_B}." in a.inner_text(".flash")
    expect(a.get_by_role("heading", name="Sent")).to_be_visible()
    assert "Discharge letter, room 12" in a.inner_text("table.messages")

    # She reads it: unsealed in her manager, both verdicts good, the annex saved intact.
    b.goto(f"{ui}mailbox/ooo")
    b.get_by_role("button", name="Delete the period from 2026-03-01 to 2026-03-08").click()
    assert "No out-of-office period is set." in b.inner_text("main")
    b.get_by_role("link", name="Inbox").click()
    row = b.locator("table.messages tbody tr").first
    assert "Bryan Brouckaert" in row.inner_text()
    assert "with annexes" in row.inner_text()
    assert "2027-03-02" in row.inner_text()  # expires after the platform's retention
    row.get_by_role("link", name="Discharge letter, room 12").click()
    main = b.inner_text("main")
    assert "every part is intact and signed by its sender" in main
    assert "Patient discharged in good health.\nCall me." in b.inner_text("pre.letter")
    assert f"Bryan Brouckaert (SSIN={DOCTOR_A}:doctor)" in main
    assert f"Ada Peeters ({BOX_B})" in main and "(copy)" not in main
    shot(b, "33-mailbox-message")
    with b.expect_download() as download:
        b.get_by_role("link", name="Save lab.pdf").click()
    assert Path(download.value.path()).read_bytes() == SCAN
    assert download.value.suggested_filename == "lab.pdf"

    # The receipts as the sender sees them: published, received and read, once each.
    a.locator("table.messages").get_by_role("link", name="Discharge letter, room 12").click()
    receipts = a.inner_text("table.receipts")
    assert BOX_B in receipts
    assert receipts.count("2026-03-02 09:30 UTC") == 3, receipts
    shot(a, "34-mailbox-receipts")

    a.get_by_role("button", name="Close the mailbox").click()
    assert "The mailbox is closed." in a.inner_text(".flash")
    a.goto(f"{ui}mailbox/INBOX")
    expect(a.get_by_role("button", name="Open the mailbox")).to_be_visible()


def test_paging_in_french_and_the_dutch_pages(
    doctors: dict[str, Path], ui: str, browser: Browser, actors: Actors, env: RunningPlatform
) -> None:
    sender = EhboxClient(
        env.url, read_keystore_file(doctors["a"], actors.password), clock=env.clock
    )
    with sender:
        for number in range(21):
            sender.send(Draft([BOX_B], f"Result {number:02d}", b"sealed for the test"))

    french = new_page(browser, "fr-BE")
    try:
        open_mailbox(french, ui, f"NISS {DOCTOR_B}", actors.password)
        expect(french.get_by_role("heading", name="Boîte de réception")).to_be_visible()
        main = french.inner_text("main")
        assert "Messages 1 à 20 sur 21" in main
        assert "Page 1 sur 2" in main
        assert "Result 20" in main and "Result 00" not in main  # newest first
        shot(french, "fr-mailbox-inbox")
        french.get_by_role("link", name="Page suivante").click()
        main = french.inner_text("main")
        assert "Page 2 sur 2" in main and "Messages 21 à 21 sur 21" in main
        assert "Result 00" in main
        assert french.get_by_role("link", name="Page suivante").count() == 0
        french.get_by_role("link", name="Page précédente").click()
        assert "Page 1 sur 2" in french.inner_text("main")
        french.goto(f"{ui}mailbox/INBOX?page=9")  # past the end: the last page
        assert "Page 2 sur 2" in french.inner_text("main")
    finally:
        french.context.close()

    dutch = new_page(browser, "nl-BE")
    try:
        open_mailbox(dutch, ui, f"INSZ {DOCTOR_A}", actors.password)
        dutch.get_by_role("link", name="Verzonden").click()
        expect(dutch.get_by_role("heading", name="Verzonden")).to_be_visible()
        assert "Pagina 1 van 2" in dutch.inner_text("main")
        dutch.get_by_role("link", name="Nieuw bericht").click()
        dutch.get_by_label("Aan", exact=True).fill("dokter Peeters")
        dutch.get_by_role("button", name="Verzegelen en verzenden").click()
        assert "dokter is geen postvak" in dutch.inner_text("#to-error")
        assert "Geef het bericht een titel." in dutch.inner_text("#title-error")
        dutch.get_by_label("Aan", exact=True).fill(f"SSIN={example_ssin(8)}")
        dutch.get_by_label("Titel").fill("Onbekende ontvanger")
        dutch.get_by_label("Bericht", exact=True).fill("Hallo")
        dutch.get_by_role("button", name="Verzegelen en verzenden").click()
        refusal = dutch.inner_text(".refusal")
        assert "Het bericht werd niet verzonden." in refusal
        assert f"SSIN={example_ssin(8)}" in refusal  # the box's own sentence names it
        shot(dutch, "nl-mailbox-refused")
        dutch.get_by_role("link", name="Afwezigheid").click()
        assert "Er is geen afwezigheidsperiode ingesteld." in dutch.inner_text("main")
    finally:
        dutch.context.close()


def test_the_mailbox_pages_need_an_open_mailbox(ui: str, browser: Browser) -> None:
    page = new_page(browser, "en-GB")
    try:
        for path in ("mailbox/INBOX", "mailbox/new", "mailbox/ooo", "mailbox/SENTBOX/ABC"):
            page.goto(f"{ui}{path}")
            expect(page.get_by_role("heading", name="eHealthBox")).to_be_visible()
        response = page.request.post(f"{ui}mailbox/open", form={"key": "x", "password": "y"})
        assert response.status == 403  # no session cookie, no CSRF token: refused
    finally:
        page.context.close()
