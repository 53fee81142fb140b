"""A real platform over real HTTP, on SQLite and on PostgreSQL.

The session gets one platform per database backend (opening a platform loads its CA
keys, the slow part), served by uvicorn on a loopback port in a thread of the test
process, so the platform's clock (a :class:`FixedClock`) can travel while clients speak
plain HTTP to it. Tables, caches and the clock are reset before every test.

``actors`` sets up the people and institutions of a scenario (registry entries, test
eIDs from the platform's citizen CA, CSRs from the session's key pool) and
``softhsm_tokens`` makes SoftHSM2 tokens for PKCS#11 eIDs.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from ehcert.api.app import create_app
from ehcert.api.front import LeanFront
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, build_csr
from ehcert.client.platform import PlatformClient
from ehcert.client.results import IssuedCertificate
from ehcert.core.clock import FixedClock
from ehcert.core.identifiers import InstitutionId
from ehcert.core.names import person_subject
from ehcert.manager.certificates import request_certificate
from ehcert.manager.etk import encryption_entry, register_etk
from ehcert.operations import issue_test_eid
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.pki.keystore import MIN_ITERATIONS, write_keystore_file
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry, Keystore
from ehcert.pki.profiles import random_serial
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.audit import AuditLog, AuditRecord
from ehcert.store.certificates import CertificateReader, CertificateRecord
from ehcert.store.testing import reset_tables, temporary_postgresql_database

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@dataclass
class RunningPlatform:
    platform: Platform
    url: str
    clock: FixedClock
    data_dir: Path
    backend: str

    @property
    def registry(self) -> RegistryService:
        return RegistryService(self.platform.database)

    def client(self) -> PlatformClient:
        return PlatformClient(self.url)


def _serve(platform: Platform, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    # As `ehcert serve` runs it: the connection front before uvicorn's protocol (api.front).
    config = uvicorn.Config(
        create_app(platform.edge), http=LeanFront, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test platform did not start")
        time.sleep(0.01)
    return server, thread


@pytest.fixture(scope="session")
def serve() -> Callable[[Platform, socket.socket], AbstractContextManager[None]]:
    """Serve a platform over HTTP on an already bound loopback socket, for a block."""

    @contextmanager
    def serving(platform: Platform, sock: socket.socket) -> Iterator[None]:
        server, thread = _serve(platform, sock)
        try:
            yield
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    return serving


def bound_socket() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def loopback() -> tuple[socket.socket, str]:
    """A bound loopback socket and its URL."""
    return bound_socket()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest,
    ca_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform]:
    data_dir = tmp_path_factory.mktemp(f"platform-{request.param}")
    shutil.copytree(ca_template, data_dir, dirs_exist_ok=True)
    sock, url = bound_socket()
    clock = FixedClock(T0)

    def start(db_url: str | None) -> Iterator[RunningPlatform]:
        # One client address (the tests') asks for every nonce of the session, in bursts
        # far beyond what one real client does; the limit itself is tested on a platform
        # of its own (test_nonce_limit.py).
        settings = Settings(
            data_dir=data_dir,
            db=db_url,
            public_url=url,
            nonce_rate_per_second=10_000.0,
            nonce_burst=100_000,
        )
        platform = Platform.open(settings, clock, initialise=False)
        server, thread = _serve(platform, sock)
        try:
            yield RunningPlatform(platform, url, clock, data_dir, request.param)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            platform.database.dispose()

    if request.param == "postgresql":
        with temporary_postgresql_database() as db_url:
            yield from start(db_url)
    else:
        yield from start(None)


@pytest.fixture(scope="session")
def production_running(
    production_ca_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPlatform]:
    """A production platform (its own hierarchy, made once per session) on SQLite, served.

    What it refuses of acceptance, and acceptance of it, is a check of the certificates
    alone (``pki.environments``), the same on either database backend.
    """
    data_dir = tmp_path_factory.mktemp("platform-production")
    shutil.copytree(production_ca_template, data_dir, dirs_exist_ok=True)
    sock, url = bound_socket()
    clock = FixedClock(T0)
    settings = Settings(
        data_dir=data_dir,
        public_url=url,
        environment="production",
        nonce_rate_per_second=10_000.0,
        nonce_burst=100_000,
    )
    platform = Platform.open(settings, clock, initialise=False)
    server, thread = _serve(platform, sock)
    try:
        yield RunningPlatform(platform, url, clock, data_dir, "sqlite")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.database.dispose()


@pytest.fixture
def production(production_running: RunningPlatform) -> RunningPlatform:
    """The production platform, emptied and with its clock back at T0."""
    reset_tables(production_running.platform.database)
    production_running.clock.set(T0)
    return production_running


@pytest.fixture
def env(running: RunningPlatform) -> RunningPlatform:
    """The backend's platform, emptied and with its clock back at T0."""
    reset_tables(running.platform.database)
    running.platform._crl_cache.clear()
    running.clock.set(T0)
    return running


# --- SoftHSM2 for PKCS#11 eIDs ------------------------------------------------------------

SOFTHSM_SO_PIN = "87654321"
SOFTHSM_USER_PIN = "123456"


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str


class SoftHsmTokens:
    """Makes fresh SoftHSM2 tokens (one per eID: a token holds one 'Authentication' key)."""

    def __init__(self, conf_dir: Path) -> None:
        self._conf_dir = conf_dir

    def new(self, prefix: str) -> SoftHsmToken:
        label = f"{prefix}-{secrets.token_hex(4)}"
        pkcs11.init_softhsm_token(label, SOFTHSM_SO_PIN, SOFTHSM_USER_PIN, self._conf_dir)
        return SoftHsmToken(pkcs11.SOFTHSM2_MODULE, label, SOFTHSM_USER_PIN)


@pytest.fixture(scope="session")
def softhsm_tokens(softhsm_conf_dir: Path) -> Iterator[SoftHsmTokens]:
    """Token factory under the session's SOFTHSM2_CONF (set by tests/conftest.py)."""
    yield SoftHsmTokens(softhsm_conf_dir)
    pkcs11_sessions.close_sessions()


# --- actors: registry entries, test eIDs, CSRs and certificates ---------------------------

DOCTOR = "79021802145"
HOSPITAL = "NIHII-HOSPITAL=71000436"
KEYSTORE_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class TestEid:
    """A test eID the platform's citizen CA issued, as a PKCS#12 credential."""

    credential: Pkcs12EidCredential
    serial_hex: str
    not_after: dt.datetime

    @property
    def signer(self) -> EidRequestSigner:
        return EidRequestSigner(self.credential)


class Actors:
    """Sets up the people and institutions of a scenario on ``env`` and acts for them.

    CSR keys come from the session's key pool (index 0..7); a key can be certified once
    per test (the platform refuses a public key it has already certified, unless the
    same request is simply asked again).
    """

    doctor = DOCTOR
    hospital = HOSPITAL
    password = KEYSTORE_PASSWORD

    def __init__(
        self, env: RunningPlatform, directory: Path, keys: Sequence[rsa.RSAPrivateKey]
    ) -> None:
        self.env = env
        self.directory = directory
        self.keys = keys

    def add_provider(
        self,
        ssin: str = DOCTOR,
        *,
        status: str = "validated",
        first_name: str = "Bryan",
        last_name: str = "Brouckaert",
        profession: str = "doctor",
        nihii: str | None = None,
    ) -> None:
        self.env.registry.add_provider(
            ssin,
            nihii,
            profession,
            first_name,
            last_name,
            status=status,
            now=self.env.clock.now(),
        )

    def add_institution(
        self,
        institution: str = HOSPITAL,
        name: str = "AZ Sint-Jan Brugge",
        *,
        security_norms: bool = True,
        data_sharing: bool = True,
        mandate_holder: str | None = DOCTOR,
    ) -> InstitutionId:
        now = self.env.clock.now()
        norms = (now - dt.timedelta(days=30)).date() if security_norms else None
        sharing = "Sectoral committee deliberation 12/345" if data_sharing else None
        self.env.registry.add_institution(institution, name, norms, sharing, now=now)
        if mandate_holder is not None:
            self.env.registry.add_mandate(institution, mandate_holder, now, now=now)
        return InstitutionId.parse(institution)

    def eid(
        self,
        ssin: str = DOCTOR,
        *,
        first_name: str = "Bryan",
        last_name: str = "Brouckaert",
        validity: dt.timedelta | None = None,
    ) -> TestEid:
        """A test eID from the platform's citizen CA (``issue_test_eid``), read back."""
        path = self.directory / f"eid-{ssin}-{secrets.token_hex(3)}.p12"
        issued = issue_test_eid(
            self.env.platform,
            ssin,
            "1234",
            first_name=first_name,
            last_name=last_name,
            out=path,
            validity=validity,
        )
        credential = Pkcs12EidCredential.from_file(path, "1234")
        return TestEid(credential, issued.serial_hex, issued.not_after)

    def csr(self, key_index: int) -> bytes:
        return build_csr(self.keys[key_index])

    def request(
        self,
        eid: TestEid,
        key_index: int,
        *,
        institution: str | None = None,
        application_id: str | None = None,
    ) -> IssuedCertificate:
        """``POST /v1/certificates`` signed with ``eid``, for session key ``key_index``."""
        with self.env.client() as client:
            return client.request_certificate(
                eid.signer, self.csr(key_index), institution, application_id
            )

    def entry(self, issued: IssuedCertificate, key_index: int) -> KeyEntry:
        """The key entry a keystore would hold for ``issued`` (key from the session pool)."""
        return KeyEntry(
            AUTHENTICATION_ALIAS, self.keys[key_index], issued.certificate, issued.chain
        )

    def other_environment_entry(
        self,
        other: RunningPlatform,
        key_index: int,
        ssin: str = DOCTOR,
        *,
        first_name: str = "Bryan",
        last_name: str = "Brouckaert",
    ) -> KeyEntry:
        """A key entry with a certificate the ``other`` platform's CA (the other
        environment's hierarchy and policy OID) signed for ``ssin``."""
        key = self.keys[key_index]
        platform = other.platform
        certificate = platform.ca.sign_authentication(
            person_subject(ssin, first_name, last_name),
            key.public_key(),
            random_serial(),
            other.clock.now(),
        )
        return KeyEntry(AUTHENTICATION_ALIAS, key, certificate, platform.hierarchy.chain)

    def keystore(
        self,
        eid: TestEid,
        *,
        institution: str | None = None,
        application_id: str | None = None,
        folder: str = "keystores",
    ) -> Path:
        """The Certificate Manager's request flow: new key, request, keystore on disk."""
        with self.env.client() as client:
            return request_certificate(
                client,
                eid.credential,
                institution=institution,
                application_id=application_id,
                out_dir=self.directory / folder,
                password=self.password,
                now=self.env.clock.now(),
            )

    def pooled_keystore(
        self, eid: TestEid, key_index: int, folder: str, *, institution: str | None = None
    ) -> Path:
        """A keystore certified by the platform, its ETK published, from the session's
        key pool (authentication key ``key_index``, encryption key ``key_index + 3``),
        written at the minimum iteration count.

        For tests whose subject is what a keystore is used for (mail, sealing): the
        Certificate Manager's own request flow (new keys, a file at 600 000 iterations)
        is :meth:`keystore`'s, shown by test_request_flow.py, and run several times per
        test it would be most of their time."""
        issued = self.request(eid, key_index, institution=institution)
        entry = self.entry(issued, key_index)
        encryption = encryption_entry(entry, self.keys[key_index + 3])
        with self.env.client() as client:
            register_etk(client, entry, encryption)
        directory = self.directory / folder
        directory.mkdir(mode=0o700, exist_ok=True)
        path = directory / f"{folder}.acc-p12"
        keystore = Keystore((entry, encryption), tuple(dict.fromkeys(issued.chain)))
        write_keystore_file(path, keystore, self.password, iterations=MIN_ITERATIONS)
        return path

    def audit_records(self) -> list[AuditRecord]:
        with self.env.platform.database.session() as session:
            return AuditLog(session).records(limit=10_000)

    def certificate_record(self, serial_hex: str) -> CertificateRecord:
        with self.env.platform.database.session() as session:
            record = CertificateReader(session).by_serial(serial_hex)
        assert record is not None, f"no ledger row for {serial_hex}"
        return record


@pytest.fixture
def actors(
    env: RunningPlatform, tmp_path: Path, session_rsa_keys: list[rsa.RSAPrivateKey]
) -> Actors:
    return Actors(env, tmp_path, session_rsa_keys)


@pytest.fixture(scope="session")
def weak_rsa_key() -> rsa.RSAPrivateKey:
    """A 1024-bit key, below the policy minimum (made once; small keys are quick)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


# --- OCSP answers checked by openssl, as a relying party does ---------------------------

CENTURY_SECONDS = str(100 * 365 * 24 * 3600)


def _pem_file(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def ocsp_request(leaf: x509.Certificate, issuing: x509.Certificate) -> bytes:
    """A DER OCSP request (SHA-1 CertID, as openssl sends) without a nonce."""
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing, hashes.SHA1()).build()
    return request.public_bytes(serialization.Encoding.DER)


def _tolerance(at: dt.datetime) -> str:
    """openssl's ``-validity_period``: two centuries, since openssl's own clock may run a
    century ahead of ``at`` (``make test-future``; time-machine moves only Python's)."""
    del at
    return str(2 * int(CENTURY_SECONDS))


def openssl_ocsp_check(
    directory: Path,
    response_der: bytes,
    *,
    leaf: x509.Certificate,
    issuing: x509.Certificate,
    root: x509.Certificate,
    at: dt.datetime,
    responder: x509.Certificate | None = None,
) -> subprocess.CompletedProcess[str]:
    """``openssl ocsp -respin``: verify a response at ``at`` and print the leaf's status.

    Without ``responder`` the responder certificate is checked up to the root
    (``-CAfile``, with the issuing CA as ``-verify_other``), validity dates included;
    with it, that certificate is the explicitly trusted responder (``-VAfile``).
    ``-validity_period`` is wide because openssl checks thisUpdate/nextUpdate against
    its own clock, which ``-attime`` does not reach.
    """
    directory.mkdir(parents=True, exist_ok=True)
    response_file = directory / f"response-{secrets.token_hex(3)}.der"
    response_file.write_bytes(response_der)
    args = [
        "openssl", "ocsp", "-respin", str(response_file),
        "-issuer", str(_pem_file(directory / "issuing.pem", issuing)),
        "-cert", str(_pem_file(directory / "leaf.pem", leaf)),
        "-attime", str(int(at.timestamp())),
        "-validity_period", _tolerance(at), "-no_nonce",
    ]  # fmt: skip
    if responder is None:
        args += [
            "-CAfile", str(_pem_file(directory / "root.pem", root)),
            "-verify_other", str(directory / "issuing.pem"),
        ]  # fmt: skip
    else:
        args += ["-VAfile", str(_pem_file(directory / "responder.pem", responder))]
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


# --- the web UI in chromium (tests/e2e/browser.py) -----------------------------------------

from tests.e2e.browser import browser, english, french, ui  # noqa: E402, F401
