"""Finding the eID middleware and reading the cards in its readers (SoftHSM2 as the card).

The module comes from a setting, then ``EHCERT_EID_PKCS11``, then the standard places
of the beID packages; the cards are read without a PIN (the holder comes from the
public 'Authentication' certificate), and opened with the PIN only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from typer.testing import CliRunner

from ehcert.cli.main import app
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.eid_middleware import (
    EID_MODULE_VARIABLE,
    EidCard,
    choose_card,
    close_card,
    find_eid_module,
    list_eid_cards,
    open_card,
    require_eid_module,
    standard_locations,
)
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.pki.eid_profiles import eid_authentication_subject

SO_PIN = "87654321"
PIN = "246810"


@pytest.fixture(scope="module")
def card_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _card_certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    subject = eid_authentication_subject("79021802145", "Bryan Jan", "Brouckaert")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def cards(softhsm_conf_dir: Path, card_key: rsa.RSAPrivateKey) -> tuple[str, str]:
    """Two tokens: an eID card (key and certificate 'Authentication') and a blank one."""
    eid_label = f"card-{secrets.token_hex(4)}"
    other_label = f"other-{secrets.token_hex(4)}"
    for label in (eid_label, other_label):
        pkcs11.init_softhsm_token(label, SO_PIN, PIN, softhsm_conf_dir)
    pkcs11.import_rsa_private_key(
        pkcs11.SOFTHSM2_MODULE,
        eid_label,
        PIN,
        "Authentication",
        card_key,
        _card_certificate(card_key),
    )
    pkcs11_sessions.close_sessions()
    return eid_label, other_label


def test_a_setting_comes_first_then_the_variable_then_the_standard_places(
    tmp_path: Path,
) -> None:
    installed = tmp_path / "libbeidpkcs11.so.0"
    installed.write_bytes(b"\x7fELF")
    candidates = [str(tmp_path / "absent.so"), str(installed)]
    found = find_eid_module(environ={}, candidates=candidates)
    assert found is not None
    assert (found.path, found.source) == (installed, "standard location")
    environment = {EID_MODULE_VARIABLE: pkcs11.SOFTHSM2_MODULE}
    found = find_eid_module(environ=environment, candidates=candidates)
    assert found is not None
    assert (str(found.path), found.source) == (pkcs11.SOFTHSM2_MODULE, "environment")
    found = find_eid_module(str(installed), environ=environment, candidates=[])
    assert found is not None and found.source == "setting"
    assert find_eid_module(environ={}, candidates=[str(tmp_path / "absent.so")]) is None


def test_a_named_module_that_does_not_exist_is_an_error_not_a_fall_back(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.so"
    with pytest.raises(EhcertError) as raised:
        find_eid_module(environ={EID_MODULE_VARIABLE: str(missing)}, candidates=[])
    assert raised.value.kind is ErrorKind.NOT_FOUND
    assert str(missing) in raised.value.detail and EID_MODULE_VARIABLE in raised.value.detail
    with pytest.raises(EhcertError, match="--eid-pkcs11 setting"):
        find_eid_module(missing, environ={}, candidates=[])


def test_nothing_installed_says_where_to_get_the_middleware(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EID_MODULE_VARIABLE, raising=False)
    if any(Path(p).is_file() for p in standard_locations()):
        pytest.fail("this machine has the beID middleware: the test expects it absent")
    with pytest.raises(EhcertError, match=r"eid\.belgium\.be") as raised:
        require_eid_module()
    assert raised.value.kind is ErrorKind.UNAVAILABLE


def test_each_system_has_the_beid_package_locations() -> None:
    assert "/usr/lib/x86_64-linux-gnu/libbeidpkcs11.so.0" in standard_locations("linux")
    assert "/usr/lib/libbeidpkcs11.so" in standard_locations("linux")
    darwin = standard_locations("darwin")
    assert "/Library/Belgium Identity Card/Pkcs11/libbeidpkcs11.dylib" in darwin
    assert any(p.startswith("/usr/local/lib/") for p in darwin)
    assert r"C:\Windows\System32\beidpkcs11.dll" in standard_locations("win32")
    assert standard_locations("freebsd14") == standard_locations("linux")


def test_cards_show_their_holder_before_any_pin(cards: tuple[str, str]) -> None:
    eid_label, other_label = cards
    listed = {card.token_label: card for card in list_eid_cards(pkcs11.SOFTHSM2_MODULE)}
    card = listed[eid_label]
    assert card.is_eid
    assert card.holder_name == "Bryan Jan Brouckaert"
    assert card.ssin == "79021802145"
    assert card.reader  # the slot description: the reader's name
    assert not listed[other_label].is_eid and listed[other_label].holder_name is None
    assert "" not in listed  # SoftHSM2's blank free slot is no card
    order = [c.token_label for c in list_eid_cards(pkcs11.SOFTHSM2_MODULE)]
    assert order.index(eid_label) < order.index(other_label)  # eID cards first


def test_the_card_opens_with_its_pin_only(
    cards: tuple[str, str], card_key: rsa.RSAPrivateKey
) -> None:
    eid_label, _ = cards
    with pytest.raises(EhcertError) as raised:
        open_card(pkcs11.SOFTHSM2_MODULE, eid_label, "000000")
    assert raised.value.kind is ErrorKind.UNAUTHORIZED
    credential = open_card(pkcs11.SOFTHSM2_MODULE, eid_label, PIN)
    signature = credential.sign(b"nonce", "RS256")
    card_key.public_key().verify(signature, b"nonce", padding.PKCS1v15(), hashes.SHA256())
    close_card(pkcs11.SOFTHSM2_MODULE, eid_label)
    # Logged out: a wrong PIN is checked by the card again, not by a kept session.
    with pytest.raises(EhcertError):
        open_card(pkcs11.SOFTHSM2_MODULE, eid_label, "000000")


def test_the_command_line_picks_the_only_eid_card_or_asks_for_a_label() -> None:
    bryan = EidCard("Reader 1", "BELPIC", None)
    blank = EidCard("Reader 2", "OTHER", None)
    with pytest.raises(EhcertError, match="No eID card is in a card reader"):
        choose_card([bryan, blank], None)
    with pytest.raises(EhcertError, match="No card labelled 'NOPE'"):
        choose_card([bryan], "NOPE")
    assert choose_card([bryan, blank], "OTHER") is blank


def test_bare_eid_pkcs11_uses_the_detected_module(tmp_path: Path) -> None:
    missing = tmp_path / "libbeidpkcs11.so"
    runner = CliRunner(env={EID_MODULE_VARIABLE: str(missing), "EHCERT_PLATFORM": "http://x"})
    args = ["cert", "request", "--out-dir", str(tmp_path), "--eid-pkcs11"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"The eID PKCS#11 module {missing} named by {EID_MODULE_VARIABLE}" in result.stderr
    # The old spelling with a module path still works (here: a path that is absent).
    result = runner.invoke(app, [*args, str(missing), "--token-label", "BELPIC"])
    assert result.exit_code == 1
    assert "named by the --eid-pkcs11 setting does not exist" in result.stderr
