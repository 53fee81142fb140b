"""Crash consistency of the platform: real ``ehcert serve`` processes, SIGKILLed under load.

What a certificate authority must never do, even when its process dies at the worst
moment: lose an operation it acknowledged, hand out a serial twice, keep a certificate
without its audit record, break its audit chain, or answer OCSP differently from its
ledger. This driver checks exactly that, from outside, the way an operator's machine
would crash:

- :class:`Served` runs ``ehcert serve`` as a child process (the product's own command,
  its own uvicorn, its own database pool) and SIGKILLs it: no ``finally``, no
  ``atexit``, no flushing; what is on disk is what the database committed;
- :class:`Workload` plays a plan drawn from a seeded RNG (``random.Random(seed)``) with a
  thread pool of clients using the SDK (:class:`~ehcert.client.platform.PlatformClient`):
  requests signed with test eIDs, renewals signed with the current certificate,
  revocations signed with the holder's eID. Every answer is recorded in :class:`Acks`:
  acknowledged (2xx), refused (a problem document) or unknown (the connection died);
- :func:`check_consistency` reads the database directly after the restart and checks
  every invariant; ``ehcert admin audit verify`` checks the chain as an operator would;
  every certificate's OCSP answer, from every running process, is compared with the
  ledger.

The certificates to renew are seeded beforehand by :func:`seed_platform` with the
platform opened in this process at a moment ``SEED_AGE`` in the past, so that they are
inside their renewal window (policy: the 90 days before expiry) for the served platform,
which runs on the real clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, KeyEntryRequestSigner, build_csr
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import FixedClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import Identity
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry
from ehcert.pki.ocsp_status import ocsp_request_for, status_from_ocsp_response
from ehcert.pki.public_keys import PrivateKey
from ehcert.pki.revocation import RevocationState
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.db import Database
from ehcert.store.models import AuditRecordRow, CertificateRow
from ehcert.store.testing import example_ssin

EHCERT = Path(sys.executable).with_name("ehcert")
# Certificates seeded this long ago expire in about 56 days: inside the renewal window.
SEED_AGE = dt.timedelta(days=1040)
EID_PIN = "1234"
REASONS = ("keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged")


# --- the served platform ------------------------------------------------------------------


class Served:
    """One ``ehcert serve`` child process on a loopback port; killed or stopped by us."""

    def __init__(self, data_dir: Path, db_url: str, port: int, log: Path) -> None:
        self.data_dir = data_dir
        self.db_url = db_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        command = [
            str(EHCERT), "serve", "--data-dir", str(self.data_dir), "--db", self.db_url,
            "--host", "127.0.0.1", "--port", str(self.port), "--public-url", self.url,
        ]  # fmt: skip
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ehcert serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"ehcert serve did not start: {self.log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, as in a power cut of the host."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)
            assert self._process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                self.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- who acts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    ssin: str
    eid: Pkcs12EidCredential


@dataclass(frozen=True)
class Held:
    """A certificate a client holds with its key (what a keystore would give it)."""

    owner: Person
    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "x")

    def signer(self) -> KeyEntryRequestSigner:
        return KeyEntryRequestSigner(
            KeyEntry(AUTHENTICATION_ALIAS, self.key, self.certificate, self.chain)
        )


@dataclass
class Fleet:
    """The people of a run, the certificates seeded for renewal, the CA certificates."""

    people: list[Person]
    renewable: list[Held]
    issuing: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def past_template(directory: Path, now: dt.datetime) -> Path:
    """A data directory whose CA hierarchy was created ``SEED_AGE`` before ``now``."""
    settings = Settings(data_dir=directory, public_url="http://127.0.0.1:1")
    Platform.open(settings, FixedClock(now - SEED_AGE)).database.dispose()
    for leftover in directory.glob("ehcert.db*"):
        leftover.unlink()
    return directory


def seed_platform(
    data_dir: Path,
    db_url: str,
    *,
    people: int,
    renewable: int,
    keys: Iterator[PrivateKey],
    now: dt.datetime,
) -> Fleet:
    """Registry entries, test eIDs and ``renewable`` certificates issued ``SEED_AGE`` ago.

    Done with the platform opened in this process on a clock in the past (the served
    process runs on the real clock); the certificates are issued by the RA service, as a
    request would, so the ledger and the audit log are the product's own.
    """
    past = now - SEED_AGE
    settings = Settings(data_dir=data_dir, db=db_url, public_url="http://127.0.0.1:1")
    platform = Platform.open(settings, FixedClock(past), initialise=False)
    try:
        registry = RegistryService(platform.database)
        fleet_people: list[Person] = []
        for index in range(people):
            ssin = example_ssin(1000 + index)
            registry.add_provider(ssin, None, "doctor", "Crash", f"Tester{index}", now=past)
            path = data_dir / f"eid-{ssin}.p12"
            issue_test_eid(platform, ssin, EID_PIN, out=path, validity=dt.timedelta(days=1500))
            fleet_people.append(Person(ssin, Pkcs12EidCredential.from_file(path, EID_PIN)))
        chain = tuple(platform.hierarchy.chain)
        held: list[Held] = []
        for index in range(renewable):
            owner = fleet_people[index % people]
            key = next(keys)
            identity = Identity("eid", owner.ssin, f"Crash Tester {index}")
            facts = platform.ra.request(identity, build_csr(key), None, None, past)
            held.append(Held(owner, key, x509.load_der_x509_certificate(facts.der), chain))
        return Fleet(fleet_people, held, platform.hierarchy.issuing.certificate, chain)
    finally:
        platform.database.dispose()


# --- what the clients were told --------------------------------------------------------------


@dataclass
class Acks:
    """Every answer the clients got, thread-safe; what the platform must stand by."""

    issued: dict[str, bytes] = field(default_factory=dict)  # serial -> DER
    issued_to: dict[str, Person] = field(default_factory=dict)  # requests: serial -> eID holder
    renewed: dict[str, list[str]] = field(default_factory=dict)  # predecessor -> successors
    revoked: dict[str, str] = field(default_factory=dict)  # serial -> reason
    refused: list[tuple[str, ErrorKind, str]] = field(default_factory=list)
    unknown: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ack_issue(self, serial: str, der: bytes, person: Person) -> None:
        with self._lock:
            assert serial not in self.issued, f"serial {serial} acknowledged twice"
            self.issued[serial] = der
            self.issued_to[serial] = person

    def ack_renewal(self, predecessor: str, serial: str, der: bytes) -> None:
        with self._lock:
            assert serial not in self.issued, f"serial {serial} acknowledged twice"
            self.issued[serial] = der
            self.renewed.setdefault(predecessor, []).append(serial)

    def ack_revocation(self, serial: str, reason: str) -> None:
        with self._lock:
            self.revoked[serial] = reason

    def refuse(self, operation: str, error: EhcertError) -> None:
        with self._lock:
            self.refused.append((operation, error.kind, error.detail))

    def lost(self) -> None:
        with self._lock:
            self.unknown += 1

    @property
    def answered(self) -> int:
        with self._lock:
            return len(self.issued) + len(self.revoked) + len(self.refused)


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One client action: ``kind`` is request, renew or revoke; ``url`` the process asked."""

    kind: str
    url: str
    person: Person | None = None
    key: PrivateKey | None = None
    held: Held | None = None
    serial: str | None = None
    reason: str | None = None


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class Plan:
    """What is left to do in a run: keys not yet used, certificates not yet acted on.

    Each certificate is renewed or revoked at most once per run (by one client; the
    race test queues two clients for each on purpose), so every acknowledgement can be
    checked against the ledger without guessing which of two racing clients won.
    """

    rng: random.Random
    keys: list[PrivateKey]
    people: list[Person]
    to_renew: list[Held]
    to_revoke: list[tuple[Person, str]]

    def round(
        self, urls: Sequence[str], *, requests: int, renewals: int, revocations: int
    ) -> list[Operation]:
        rng = self.rng
        operations = [
            Operation("request", rng.choice(urls), person=rng.choice(self.people), key=self.key())
            for _ in range(requests)
        ]
        for _ in range(min(renewals, len(self.to_renew))):
            held = self.to_renew.pop(rng.randrange(len(self.to_renew)))
            operations.append(Operation("renew", rng.choice(urls), held=held, key=self.key()))
        for _ in range(min(revocations, len(self.to_revoke))):
            person, serial = self.to_revoke.pop(rng.randrange(len(self.to_revoke)))
            operations.append(
                Operation(
                    "revoke",
                    rng.choice(urls),
                    person=person,
                    serial=serial,
                    reason=rng.choice(REASONS),
                )
            )
        rng.shuffle(operations)
        return operations

    def key(self) -> PrivateKey:
        if not self.keys:
            raise RuntimeError("the key pool is too small for this plan")
        return self.keys.pop()

    def revocable_later(self, acks: Acks, already: set[str]) -> None:
        """Certificates acknowledged to requests become candidates for revocation."""
        for serial, person in sorted(acks.issued_to.items()):
            if serial not in already:
                already.add(serial)
                self.to_revoke.append((person, serial))


def run_operation(operation: Operation, acks: Acks) -> None:
    """Play one operation against its platform and record the answer in ``acks``."""
    try:
        with PlatformClient(operation.url, timeout=60) as client:
            if operation.kind == "request":
                assert operation.person is not None and operation.key is not None
                issued = client.request_certificate(
                    EidRequestSigner(operation.person.eid), build_csr(operation.key)
                )
                acks.ack_issue(issued.serial, der(issued.certificate), operation.person)
            elif operation.kind == "renew":
                assert operation.held is not None and operation.key is not None
                issued = client.renew(
                    operation.held.signer(), build_csr(operation.key), operation.held.serial
                )
                acks.ack_renewal(operation.held.serial, issued.serial, der(issued.certificate))
            else:
                assert operation.person is not None
                assert operation.serial is not None and operation.reason is not None
                client.revoke(
                    EidRequestSigner(operation.person.eid), operation.serial, operation.reason
                )
                acks.ack_revocation(operation.serial, operation.reason)
    except EhcertError as error:
        if error.kind is ErrorKind.UNAVAILABLE:
            acks.lost()  # the connection died: the outcome is not known to the client
        else:
            acks.refuse(operation.kind, error)


def play(
    operations: Sequence[Operation],
    acks: Acks,
    *,
    clients: int,
    kill_after: int | None = None,
    kill: Callable[[], None] | None = None,
    rng: random.Random | None = None,
) -> None:
    """Play ``operations`` with ``clients`` threads; SIGKILL after ``kill_after`` answers.

    Once the process is down the clients stop taking new operations (their keys are not
    spent); those in flight end as *unknown*.
    """
    work: queue.Queue[Operation] = queue.Queue()
    for operation in operations:
        work.put(operation)
    down = threading.Event()

    def client() -> None:
        while not down.is_set():
            try:
                operation = work.get_nowait()
            except queue.Empty:
                return
            run_operation(operation, acks)

    def killer() -> None:
        assert kill is not None and kill_after is not None and rng is not None
        start = acks.answered
        while acks.answered - start < kill_after and not finished.is_set():
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))  # land anywhere inside the next transactions
        down.set()
        kill()

    finished = threading.Event()
    thread = threading.Thread(target=killer, daemon=True) if kill is not None else None
    if thread is not None:
        thread.start()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    finished.set()
    if thread is not None:
        thread.join(timeout=60)


# --- the invariants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The certificates table and the audit records, as the database holds them now."""

    certificates: dict[str, CertificateRow]
    audit_serials: dict[str, list[str]]  # serial -> audit actions naming it


def read_ledger(db_url: str) -> Ledger:
    database = Database(db_url)
    try:
        with database.session() as session:
            rows = list(session.execute(select(CertificateRow)).scalars())
            audit = list(session.execute(select(AuditRecordRow)).scalars())
            for row in rows:
                session.expunge(row)
    finally:
        database.dispose()
    serials = [row.serial_hex for row in rows]
    assert len(serials) == len(set(serials)), "a serial number appears twice"
    named: dict[str, list[str]] = {}
    for record in audit:
        if record.action in ("issued", "renewed", "revoked"):
            named.setdefault(json.loads(record.detail)["serial"], []).append(record.action)
    return Ledger({row.serial_hex: row for row in rows}, named)


def check_consistency(
    served: Sequence[Served], db_url: str, data_dir: Path, fleet: Fleet, acks: Acks
) -> Ledger:
    """Every invariant of the module docstring, after a restart; returns the ledger read."""
    ledger = read_ledger(db_url)
    rows = ledger.certificates
    for serial, der in acks.issued.items():
        assert serial in rows, f"acknowledged certificate {serial} is missing"
        assert rows[serial].der == der, f"certificate {serial} differs from the one returned"
    for predecessor, successors in acks.renewed.items():
        assert len(successors) == 1, f"{predecessor} was renewed {len(successors)} times"
        assert rows[successors[0]].predecessor_serial_hex == predecessor
    predecessors = [r.predecessor_serial_hex for r in rows.values() if r.predecessor_serial_hex]
    assert len(predecessors) == len(set(predecessors)), "a certificate was renewed twice"
    for serial, reason in acks.revoked.items():
        assert rows[serial].status == "revoked", f"acknowledged revocation of {serial} lost"
        assert rows[serial].revocation_reason == reason
    for serial, row in rows.items():
        actions = ledger.audit_serials.get(serial, [])
        made = "renewed" if row.predecessor_serial_hex else "issued"
        assert actions.count(made) == 1, f"certificate {serial} has audit records {actions}"
        assert actions.count("revoked") == (row.status == "revoked"), (
            f"certificate {serial} ({row.status}) has audit records {actions}"
        )
    assert set(ledger.audit_serials) <= set(rows), "an audit record names no certificate"
    verify = subprocess.run(
        [str(EHCERT), "admin", "audit", "verify", "--data-dir", str(data_dir), "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    check_ocsp(served, fleet, rows)
    return ledger


def check_ocsp(served: Sequence[Served], fleet: Fleet, rows: dict[str, CertificateRow]) -> None:
    """Each process's OCSP answer for every certificate is sound and says what the ledger says."""
    expected = {"valid": RevocationState.GOOD, "revoked": RevocationState.REVOKED}
    now = dt.datetime.now(dt.UTC)
    with httpx.Client(timeout=30) as http:
        for serial, row in rows.items():
            certificate = x509.load_der_x509_certificate(row.der)
            request = ocsp_request_for(certificate, fleet.issuing)
            for process in served:
                answer = http.post(
                    f"{process.url}/ocsp",
                    content=request,
                    headers={"Content-Type": "application/ocsp-request"},
                )
                assert answer.status_code == 200, answer.text
                status = status_from_ocsp_response(answer.content, certificate, fleet.issuing, now)
                assert status.state is expected[row.status], (
                    f"{process.url} says {status.state} ({status.detail}) for {serial}, "
                    f"the ledger {row.status}"
                )


@contextmanager
def serving(processes: Sequence[Served]) -> Iterator[Sequence[Served]]:
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()
