"""The eID step served for real, spoken to over HTTP: detection problems are sentences.

A misnamed module (``EHCERT_EID_PKCS11`` pointing nowhere) is said on the page, naming
the variable, and a form sent anyway is refused next to the field, never a server error.
The footer shows the keystore folder with the home folder as ``~``. An opened eID is
kept for its own flow only, and not beyond its time.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.manager.eid_middleware import EID_MODULE_VARIABLE
from ehcert.manager.web import eid_step
from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.eid_step import OpenEid, current_eid, keep_eid
from ehcert.manager.web.security import Session, new_secret
from ehcert.manager.web.server import bind_loopback, running_ui


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[str]:
    settings = ManagerSettings(
        keystore_dir=tmp_path / "keystores",
        platform_url="http://127.0.0.1:9",
        secret=new_secret(),
    )
    with running_ui(settings, bind_loopback(0)) as url:
        yield url


def test_a_module_named_where_there_is_none_is_said_on_the_page(
    ui: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "libbeidpkcs11.so"
    monkeypatch.setenv(EID_MODULE_VARIABLE, str(missing))
    with httpx.Client() as client:
        page = client.get(ui + "eid/request")
        assert page.status_code == 200
        assert f"The eID PKCS#11 module {missing} named by {EID_MODULE_VARIABLE}" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "source": "card:BELPIC", "pin": "1234"}
        origin = ui.split("/s/", maxsplit=1)[0]
        answer = client.post(ui + "eid/request", data=form, headers={"Origin": origin})
    assert answer.status_code == 400
    assert 'id="source-error"' in answer.text
    assert str(missing) in answer.text


def test_the_footer_writes_the_home_folder_as_a_tilde(tmp_path: Path) -> None:
    def shown(folder: Path, label: str | None = None) -> str:
        settings = ManagerSettings(
            keystore_dir=folder, platform_url=None, secret="s", keystore_dir_label=label
        )
        return settings.shown_keystore_dir

    assert shown(Path.home() / "ehealth" / "keystore") == "~/ehealth/keystore"
    assert shown(tmp_path) == str(tmp_path) or tmp_path.is_relative_to(Path.home())
    assert shown(tmp_path, "~/ehealth/keystore") == "~/ehealth/keystore"


def test_an_open_eid_is_dropped_after_its_time_even_if_nobody_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, "79021802145")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    opened = OpenEid("request", Pkcs12EidCredential(key, certificate), None, "79021802145", None)
    session = Session("id", "csrf")
    monkeypatch.setattr(eid_step, "EID_KEPT_SECONDS", 0.2)
    keep_eid(session, opened)
    assert current_eid(session, "request") is opened
    assert current_eid(session, "revoke") is None  # opened for another flow
    time.sleep(0.6)
    assert "eid" not in session.pending
    assert current_eid(session, "request") is None


def test_the_eid_step_speaks_dutch_and_french(ui: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EID_MODULE_VARIABLE, raising=False)
    dutch = httpx.get(ui + "eid/revoke", headers={"Accept-Language": "nl-BE"}).text
    assert "Een certificaat intrekken met uw eID" in dutch
    assert "Stap 1 van 2: uw eID" in dutch and "Pincode" in dutch
    french = httpx.get(ui + "eid/request", headers={"Accept-Language": "fr-BE"}).text
    assert "Étape 1 sur 2 : votre eID" in french
    assert "Le logiciel eID (middleware) est introuvable" in french
