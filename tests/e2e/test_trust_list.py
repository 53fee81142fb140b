"""The signed trust list over HTTP, and clients that follow it by themselves.

Each test gets a platform of its own (a copy of the session's CA template, on SQLite and
on PostgreSQL), because the operator's ceremonies here re-key its CA folder. The
ceremonies are run as the operator runs them (``ehcert admin ca rotate ...``), at a
moment set with time-machine; the clients run ``ehcert trust ...`` and ``ehcert etk``
with a clock of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from typer.testing import CliRunner, Result

from ehcert.ca.credentials import CaPair
from ehcert.cli.main import app
from ehcert.cli.options import CertRuntime
from ehcert.client.trust_store import RootAnchor, TrustStore
from ehcert.core.clock import FixedClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import xades
from ehcert.pki.pathval import validate_path
from ehcert.pki.trust_list import (
    CA_SERVICE,
    OCSP_SERVICE,
    TRUST_LIST_SIGNER_SERVICE,
    TSL,
    build_trust_list,
    fingerprint,
    read_trust_list,
)
from ehcert.platform import Platform
from ehcert.settings import Settings
from ehcert.store.testing import temporary_postgresql_database

from .conftest import T0, Actors, RunningPlatform, bound_socket

pytestmark = pytest.mark.slow


@dataclass
class OwnPlatform:
    """A served platform on a data directory of its own; ``restart`` reopens it (as an
    operator does after rotating the issuing CA) on a new port."""

    env: RunningPlatform
    restart: Callable[[], None]
    tmp_path: Path

    @property
    def url(self) -> str:
        return self.env.url

    @property
    def root_file(self) -> Path:
        path = self.tmp_path / "root.pem"
        root = self.env.platform.hierarchy.root.certificate
        path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        return path

    def ceremony(self, *args: str, at: dt.datetime) -> Result:
        """``ehcert admin ...`` on this data directory with the system clock at ``at``."""
        with time_machine.travel(at, tick=False):
            result = CliRunner().invoke(
                app, ["admin", *args, "--data-dir", str(self.env.data_dir), "--json"]
            )
        assert result.exit_code == 0, result.output
        self.env.clock.set(at)
        return result

    def newest(self) -> bytes:
        response = httpx.get(f"{self.url}/v1/trust-list.xml")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/vnd.etsi.tsl+xml")
        return response.content

    def numbered(self, sequence: int) -> bytes:
        return httpx.get(f"{self.url}/v1/trust-lists/{sequence}.xml").content


@pytest.fixture(params=["sqlite", "postgresql"])
def own(request: pytest.FixtureRequest, ca_template: Path, tmp_path: Path) -> Iterator[OwnPlatform]:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    clock = FixedClock(T0)

    def run(db_url: str | None) -> Iterator[OwnPlatform]:
        stack: list[Callable[[], None]] = []

        def start() -> RunningPlatform:
            sock, url = bound_socket()
            settings = Settings(data_dir=data_dir, db=db_url, public_url=url)
            platform = Platform.open(settings, clock, initialise=False)
            from .conftest import _serve

            server, thread = _serve(platform, sock)

            def stop() -> None:
                server.should_exit = True
                thread.join(timeout=10)
                platform.database.dispose()

            stack.append(stop)
            return RunningPlatform(platform, url, clock, data_dir, request.param)

        own = OwnPlatform(start(), lambda: None, tmp_path)

        def restart() -> None:
            stack.pop()()
            own.env = start()

        own.restart = restart
        try:
            yield own
        finally:
            while stack:
                stack.pop()()

    if request.param == "postgresql":
        with temporary_postgresql_database() as db_url:
            yield from run(db_url)
    else:
        yield from run(None)


def _trust(own: OwnPlatform, store: Path, *args: str, at: dt.datetime) -> Result:
    return CliRunner().invoke(
        app,
        ["trust", *args, "--trust-store", str(store)],
        obj=CertRuntime(clock=FixedClock(at)),
    )


def _first_update(own: OwnPlatform, store: Path) -> dict[str, object]:
    result = _trust(
        own, store, "update", "--platform", own.url, "--root-cert", str(own.root_file), "--json",
        at=T0,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(EhcertError) as refused:
        call()
    assert refused.value.kind is ErrorKind.UNTRUSTED
    return refused.value.detail


# -- what the platform publishes --------------------------------------------------------


def test_the_list_is_ts_119_612_and_names_every_certificate_of_the_platform(
    own: OwnPlatform,
) -> None:
    document = own.newest()
    root = etree.fromstring(document)
    ns = {"tsl": TSL, "ds": xades.DS, "xades": xades.XADES}
    assert root.tag == f"{{{TSL}}}TrustServiceStatusList"
    assert root.get("TSLTag") == "http://uri.etsi.org/19612/TSLTag"
    scheme = root.find("tsl:SchemeInformation", ns)
    assert scheme is not None
    children = [etree.QName(child).localname for child in scheme]
    assert children == [
        "TSLVersionIdentifier",
        "TSLSequenceNumber",
        "TSLType",
        "SchemeOperatorName",
        "SchemeOperatorAddress",
        "SchemeName",
        "SchemeInformationURI",
        "StatusDeterminationApproach",
        "SchemeTypeCommunityRules",
        "SchemeTerritory",
        "PolicyOrLegalNotice",
        "HistoricalInformationPeriod",
        "ListIssueDateTime",
        "NextUpdate",
        "DistributionPoints",
    ]  # fmt: skip (the order of TS 119 612 section 5.3)
    assert scheme.findtext("tsl:TSLSequenceNumber", namespaces=ns) == "1"
    assert scheme.findtext("tsl:ListIssueDateTime", namespaces=ns) == "2026-03-02T09:30:00Z"
    assert scheme.findtext("tsl:NextUpdate/tsl:dateTime", namespaces=ns) == "2026-04-01T09:30:00Z"
    signature = root[-1]
    assert signature.tag == f"{{{xades.DS}}}Signature"
    references = signature.findall("ds:SignedInfo/ds:Reference", ns)
    assert [r.get("Type") for r in references] == [None, xades.SIGNED_PROPERTIES_TYPE]
    assert signature.find(".//xades:SignedProperties/*/xades:SigningCertificateV2", ns) is not None

    hierarchy = own.env.platform.hierarchy
    listed = read_trust_list(
        xades.verify_enveloped(document, xades.signing_certificate(document), T0)
    )
    types = {s.role: s.service_type for s in listed.services}
    assert types["root"] == types["issuing"] == CA_SERVICE
    assert types["ocsp"] == OCSP_SERVICE
    assert types["trust-list"] == TRUST_LIST_SIGNER_SERVICE
    assert listed.roots == (hierarchy.root.certificate,)
    assert listed.issuing_cas == (hierarchy.issuing.certificate,)
    assert listed.of_role("etk-depot")[0].certificate == hierarchy.etk_depot.certificate
    assert listed.of_role("ocsp")[0].certificate == hierarchy.ocsp.certificate
    assert xades.signing_certificate(document) == listed.signers[0]
    assert own.numbered(1) == document
    missing = httpx.get(f"{own.url}/v1/trust-lists/99.xml")
    assert missing.status_code == 404
    assert httpx.get(f"{own.url}/v1/trust-lists/x.xml").status_code == 400


def test_a_certificate_made_on_first_use_gives_a_new_list(own: OwnPlatform) -> None:
    assert read_trust_list(etree.fromstring(own.newest())).sequence == 1
    own.env.platform.ca.sts_credential(T0)  # the STS signer, made on first use
    newer = read_trust_list(etree.fromstring(own.newest()))
    assert newer.sequence == 2
    assert newer.of_role("sts")
    own.env.clock.set(T0 + dt.timedelta(days=21))  # 9 days before NextUpdate
    assert read_trust_list(etree.fromstring(own.newest())).sequence == 3


# -- clients follow it -------------------------------------------------------------------


def test_a_client_follows_an_issuing_ca_rotation_without_a_manual_step(
    own: OwnPlatform, tmp_path: Path, session_rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    store_dir = tmp_path / "trust"
    first = _first_update(own, store_dir)
    assert first["sequence"] == 1
    assert first["accepted"] == [1]
    old_issuing = own.env.platform.hierarchy.issuing.certificate

    t1 = T0 + dt.timedelta(days=2)
    rotated = json.loads(own.ceremony("ca", "rotate", "issuing", at=t1).stdout)["rotated"]
    assert rotated[0]["role"] == "issuing"
    own.restart()  # the operator restarts the API after an issuing rotation
    new_issuing = own.env.platform.hierarchy.issuing.certificate
    assert new_issuing != old_issuing

    # A doctor gets a certificate from the new issuing CA, with its ETK in the depot.
    actors = Actors(own.env, tmp_path, session_rsa_keys)
    actors.add_provider()
    keystore = actors.keystore(actors.eid())
    etk_file = tmp_path / "doctor.etk"
    runtime = CertRuntime(clock=FixedClock(t1))
    got = CliRunner().invoke(
        app, ["etk", "get", f"SSIN={actors.doctor}", "--out", str(etk_file), "--platform",
              own.url], obj=runtime,
    )  # fmt: skip
    assert got.exit_code == 0, got.output

    # The client that trusted list 1 checks it with nothing but its trust store, which
    # it refreshes by itself on the way.
    shown = CliRunner().invoke(
        app, ["etk", "show", str(etk_file), "--platform", own.url, "--json"],
        obj=runtime, env={"EHCERT_TRUST_STORE": str(store_dir)},
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["usable"] is True
    held = TrustStore(store_dir).current()
    assert held is not None
    assert held.sequence == 2
    assert held.issuing_cas == (old_issuing, new_issuing)  # the old one stays valid

    from ehcert.pki.keystore import read_keystore_file

    leaf = read_keystore_file(keystore, actors.password).authentication().certificate
    assert leaf.issuer == new_issuing.subject
    path = validate_path(leaf, held.issuing_cas, held.roots, at=t1, purpose=None, revocation=None)
    assert path.certificates[1] == new_issuing
    old_roots_only = read_trust_list(etree.fromstring(own.numbered(1)))
    with pytest.raises(EhcertError):  # list 1 alone does not know the new CA
        validate_path(leaf, old_roots_only.issuing_cas, [], at=t1, purpose=None, revocation=None)


def test_a_tampered_older_or_expired_list_is_refused(own: OwnPlatform, tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trust")
    document = own.newest()
    detail = _refused(lambda: store.accept(document, T0))
    assert "holds no trust list yet" in detail
    wrong = RootAnchor.from_certificate(own.env.platform.hierarchy.issuing.certificate)
    assert "is not the root you gave" in _refused(lambda: store.accept(document, T0, anchor=wrong))
    anchor = RootAnchor.from_fingerprint(fingerprint(own.env.platform.hierarchy.root.certificate))
    assert store.accept(document, T0, anchor=anchor).sequence == 1

    own.ceremony("ca", "rotate", "ocsp", at=T0 + dt.timedelta(hours=1))
    second = own.newest()
    tampered = second.replace(b"<tsl:TSLSequenceNumber>2<", b"<tsl:TSLSequenceNumber>9<")
    assert tampered != second
    assert "does not verify" in _refused(lambda: store.accept(tampered, T0))
    assert store.current() is not None and store.current().sequence == 1  # type: ignore[union-attr]

    later = T0 + dt.timedelta(days=31)
    assert "NextUpdate" in _refused(lambda: store.accept(second, later))
    assert store.accept(second, T0 + dt.timedelta(hours=1)).sequence == 2
    assert "is not newer" in _refused(lambda: store.accept(document, T0 + dt.timedelta(hours=1)))


def test_a_list_signed_by_an_unannounced_signer_is_refused(
    own: OwnPlatform, tmp_path: Path
) -> None:
    store_dir = tmp_path / "trust"
    _first_update(own, store_dir)
    # The ETK depot's key is the platform's and chains to the root, but the list never
    # named it as a trust-list signer.
    hierarchy = own.env.platform.hierarchy
    depot: CaPair = hierarchy.etk_depot
    publisher = own.env.platform.trust_lists
    forged = xades.sign_enveloped(
        build_trust_list(
            environment="acceptance", base_url=own.url, sequence=2, issued=T0,
            next_update=T0 + dt.timedelta(days=30), services=publisher.live_services(T0),
        ),
        signer=depot.signer, certificate=depot.certificate, signing_time=T0,
    )  # fmt: skip
    detail = _refused(lambda: TrustStore(store_dir).accept(forged, T0))
    assert detail.startswith(
        "The trust list number 2 is signed by CN=ehcert Acceptance TEST ETK Depot"
    )
    assert detail.endswith("which trust list number 1 does not announce as a trust-list signer.")


def test_a_list_signer_rotation_announced_in_the_previous_list_is_followed(
    own: OwnPlatform, tmp_path: Path
) -> None:
    store_dir = tmp_path / "trust"
    _first_update(own, store_dir)
    old_signer = xades.signing_certificate(own.newest())
    t1 = T0 + dt.timedelta(hours=1)
    own.ceremony("ca", "rotate", "trust-list", at=t1)
    announcing = own.newest()
    listed = read_trust_list(etree.fromstring(announcing))
    assert listed.sequence == 2
    assert xades.signing_certificate(announcing) == old_signer  # signed by the old key
    (new_signer,) = listed.signers
    assert new_signer != old_signer
    own.ceremony("ca", "rotate", "ocsp", at=t1 + dt.timedelta(hours=1))
    assert xades.signing_certificate(own.newest()) == new_signer

    # A client still at list 1 walks through list 2 to accept list 3 by itself.
    result = _trust(own, store_dir, "update", "--json", at=t1 + dt.timedelta(hours=2))
    assert result.exit_code == 0, result.output
    updated = json.loads(result.stdout)
    assert updated["accepted"] == [2, 3]
    assert updated["sequence"] == 3

    shown = _trust(own, store_dir, "show", "--json", at=t1)
    assert shown.exit_code == 0, shown.output
    services = json.loads(shown.stdout)["services"]
    assert [s["generation"] for s in services if s["role"] == "trust-list"] == [1]
    assert {s["sha256"] for s in services if s["role"] == "root"} == {
        fingerprint(own.env.platform.hierarchy.root.certificate)
    }


def test_trust_commands_refuse_in_one_sentence(own: OwnPlatform, tmp_path: Path) -> None:
    store_dir = tmp_path / "trust"
    first = _trust(own, store_dir, "update", "--platform", own.url, at=T0)
    assert first.exit_code == 1
    assert first.stderr.strip() == (
        "This trust store holds no trust list yet; give the platform's root certificate or "
        "its SHA-256 fingerprint to accept a first one."
    )
    bad = _trust(own, store_dir, "update", "--platform", own.url, "--root-fingerprint", "ab", at=T0)
    assert bad.exit_code == 1
    assert "64 hexadecimal digits" in bad.stderr
    shown = _trust(own, store_dir, "show", at=T0)
    assert shown.exit_code == 1
    assert "holds no trust list" in shown.stderr


def test_sts_token_takes_the_sts_certificate_from_the_refreshed_trust_list(
    own: OwnPlatform, tmp_path: Path, session_rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    store_dir = tmp_path / "trust"
    _first_update(own, store_dir)
    actors = Actors(own.env, tmp_path, session_rsa_keys)
    actors.add_provider()
    keystore = actors.keystore(actors.eid())
    password = tmp_path / "password.txt"
    password.write_text(actors.password + "\n")
    sts_certificate = own.env.platform.ca.sts_credential(T0).certificate  # made on first use

    got = CliRunner().invoke(
        app,
        ["sts", "token", "--platform", own.url, "--keystore", str(keystore),
         "--password-file", str(password), "--out", str(tmp_path / "token.xml"), "--json"],
        obj=CertRuntime(clock=FixedClock(T0)), env={"EHCERT_TRUST_STORE": str(store_dir)},
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    held = TrustStore(store_dir).current()
    assert held is not None
    assert held.sequence == 2  # refreshed by the command: the list that names the STS
    assert held.of_role("sts")[0].certificate == sts_certificate


def test_a_data_directory_made_before_trust_lists_gets_its_signer_and_first_list(
    own: OwnPlatform,
) -> None:
    folder = own.env.platform.hierarchy.directory.path
    for name in ("trust-list.crt", "trust-list.key"):
        (folder / name).unlink()
    shutil.rmtree(folder / "trust-lists")
    document = own.newest()
    listed = read_trust_list(etree.fromstring(document))
    assert listed.sequence == 1
    assert (folder / "trust-list.crt").exists()
    assert xades.signing_certificate(document) == listed.signers[0]
    listed.signers[0].verify_directly_issued_by(own.env.platform.hierarchy.issuing.certificate)
