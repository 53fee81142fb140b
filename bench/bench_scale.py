"""The platform at national scale on PostgreSQL: rates on a full database against a small one.

A fixture writes the registry and the ledger straight through psycopg's ``COPY`` (the
ORM would take an hour): providers with valid SSINs (``store.testing.example_ssin``),
NIHII numbers for two in three, every profession, a few pending or withdrawn; one
authentication certificate per provider and renewed predecessors (expired, each
superseded by a successor) up to the certificate count, some revoked with a reason,
each with one ETK. Every row satisfies the schema's constraints; the certificates and
ETKs carry one real DER each (the lookups read, never parse, most of them).

The same rates are measured twice in one run, first with a small fixture (1,000
providers) and then after it has grown to the full size (250,000 providers, 1,000,000
certificates by default), so each full-size rate is judged against the small one
(target 0.8):

- issuance in-process, as ``bench_issuance.py`` does it (eID proof, one transaction);
- OCSP from the store: answers already kept in the ``ocsp_cache`` table, looked up by
  serial (``RevocationServer.ocsp``, below the in-memory kept answers, which never read
  the database);
- OCSP with a nonce: the serial's row read and a fresh answer signed;
- GetEtk for one identifier (``EtkDepot.lookup``): the served-ETK query.

Then: the CRL of the issuing CA with its 100,000 revoked entries (made, linted, signed:
``Platform.crl(force=True)``), and the CSV import of 50,000 providers into the full
registry (half updates, half new) against the same import into an empty database.

    .venv/bin/python bench/bench_scale.py [--providers 250000] [--certificates 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_csv_import import generate
from bench_issuance import issue_all, platform_on, prepared_requests
from harness import Figure, machine, median_seconds, record

from ehcert.core.identifiers import Profession
from ehcert.pki.ocsp_status import cert_id_hashes
from ehcert.platform import Platform
from ehcert.registry.csv_import import import_providers_csv
from ehcert.store.db import Database
from ehcert.store.testing import example_ssin, temporary_postgresql_database

PROFESSIONS = [profession.value for profession in Profession]
FIRST = ["Anna", "Bart", "Chloé", "Dirk", "Elif", "Frank", "Greet", "Hamid", "Inès", "Jan"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois"]
REASONS = ["keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation"]
SMALL = 1_000
# Fixture providers start here, so example_ssin never meets the bench's own doctor.
FIRST_INDEX = 40_000
LOOKUPS = 300


def _copy(
    cursor: psycopg.Cursor[object],
    table: str,
    columns: Sequence[str],
    rows: Iterator[tuple[object, ...]],
) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Fixture:
    """Providers, certificates and ETKs written by COPY, grown in steps (module docstring)."""

    def __init__(self, url: str, environment: str, certificate_der: bytes, now: dt.datetime):
        self._url = _psycopg_url(url)
        self._environment = environment
        self._der = certificate_der
        self._now = now
        self._random = random.Random(14)
        self.providers = 0
        self.certificates = 0
        self.revoked = 0
        self.serials: list[str] = []  # a sample of live serials, for the lookups
        self.revoked_serials: list[str] = []
        self.holders: list[str] = []  # a sample of SSINs with a served ETK
        self._sampling = 1.0

    def grow(self, providers: int, certificates: int, revoked: int) -> float:
        """Bring the fixture to ``providers``, ``certificates`` and ``revoked``; seconds."""
        start = time.perf_counter()
        new = range(self.providers, providers)
        self._sampling = 4 * LOOKUPS / max(len(new), 1)
        # One current certificate per provider, the rest older generations (renewed).
        per_provider = max(1, certificates // max(providers, 1))
        with psycopg.connect(self._url) as connection, connection.cursor() as cursor:
            _copy(
                cursor,
                "providers",
                ("ssin", "nihii", "profession", "first_name", "last_name", "status",
                 "created_at", "updated_at", "withdrawn_at"),
                (self._provider(index) for index in new),
            )  # fmt: skip
            certificate_rows: list[tuple[object, ...]] = []
            etk_rows: list[tuple[object, ...]] = []
            for index in new:
                self._certificates_of(index, per_provider, certificate_rows, etk_rows)
            want_revoked = revoked - self.revoked
            self._revoke_some(certificate_rows, want_revoked)
            _copy(cursor, "certificates", _CERTIFICATE_COLUMNS, iter(certificate_rows))
            _copy(cursor, "etks", _ETK_COLUMNS, iter(etk_rows))
            connection.commit()
            cursor.execute("ANALYZE providers")
            cursor.execute("ANALYZE certificates")
            cursor.execute("ANALYZE etks")
        self.providers = providers
        self.certificates += len(certificate_rows)
        return time.perf_counter() - start

    def _provider(self, index: int) -> tuple[object, ...]:
        number = FIRST_INDEX + index
        status = "validated"
        withdrawn = None
        if index % 97 == 0:
            status = "pending"
        elif index % 89 == 0:
            status, withdrawn = "withdrawn", self._now
        nihii = f"{10_000_000_000 + number:011d}" if number % 3 else None
        return (
            example_ssin(number), nihii, PROFESSIONS[index % len(PROFESSIONS)],
            FIRST[index % len(FIRST)], LAST[(index // 7) % len(LAST)], status,
            self._now, self._now, withdrawn,
        )  # fmt: skip

    def _certificates_of(
        self,
        index: int,
        generations: int,
        certificates: list[tuple[object, ...]],
        etks: list[tuple[object, ...]],
    ) -> None:
        """``generations`` certificates of one provider: the oldest expired, each renewed by
        the next; the newest live, with its ETK served."""
        ssin = example_ssin(FIRST_INDEX + index)
        predecessor = None
        for generation in range(generations):
            serial = f"{self._random.getrandbits(126) | (1 << 125):x}"
            live = generation == generations - 1
            not_before = self._now - dt.timedelta(
                days=30 + 365 * 3 * (generations - 1 - generation)
            )
            not_after = not_before + dt.timedelta(days=365 * 3)
            subject = f"CN=SSIN={ssin},O=eHealth-platform Belgium,C=BE"
            certificates.append(
                [serial, self._environment, "authentication", "SSIN", ssin, None, subject,
                 not_before, not_after, "valid", None, None, None, self._der,
                 hashlib.sha256(serial.encode()).hexdigest(), ssin, predecessor, None,
                 not_before]
            )  # fmt: skip
            predecessor = serial
            if not live:
                continue
            etks.append(
                (
                    "SSIN", ssin, None, str(self._random.getrandbits(63)),
                    hashlib.sha256(b"key" + serial.encode()).hexdigest(),
                    hashlib.sha256(b"cert" + serial.encode()).hexdigest(),
                    serial, subject, self._der, not_before, not_after, not_before,
                )
            )  # fmt: skip
            if self._random.random() < self._sampling:
                self.serials.append(serial)
                self.holders.append(ssin)

    def _revoke_some(self, rows: list[tuple[object, ...]], count: int) -> None:
        """Mark ``count`` of ``rows`` revoked (a reason, a date, who), spread evenly."""
        if count <= 0:
            return
        step = max(1, len(rows) // count)
        for position in range(0, len(rows), step)[:count]:
            row = rows[position]
            assert isinstance(row, list)
            row[9] = "revoked"
            row[10] = self._now - dt.timedelta(days=position % 300 + 1)
            row[11] = REASONS[position % len(REASONS)]
            row[12] = "bench"
            self.revoked += 1
            if len(self.revoked_serials) < LOOKUPS:
                self.revoked_serials.append(str(row[0]))
        rows[:] = [tuple(row) for row in rows]


_CERTIFICATE_COLUMNS = (
    "serial_hex", "environment", "usage", "holder_type", "holder_value", "application_id",
    "subject_dn", "not_before", "not_after", "status", "revoked_at", "revocation_reason",
    "revoked_by", "der", "public_key_sha256", "requested_by_ssin", "predecessor_serial_hex",
    "digital_key", "created_at",
)  # fmt: skip
_ETK_COLUMNS = (
    "holder_type", "holder_value", "application_id", "encryption_serial",
    "encryption_key_sha256", "encryption_certificate_sha256", "authentication_serial",
    "subject_dn", "der", "not_before", "not_after", "published_at",
)  # fmt: skip


def ocsp_request(issuer: x509.Certificate, serial_hex: str, *, nonce: bool) -> bytes:
    name_hash, key_hash = cert_id_hashes(issuer, hashes.SHA1())
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, int(serial_hex, 16), hashes.SHA1()
    )
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(random.randbytes(16)), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _rate_over(items: Sequence[object], action: Callable[[object], object]) -> float:
    start = time.perf_counter()
    for item in items:
        action(item)
    return len(items) / (time.perf_counter() - start)


def rates(platform: Platform, fixture: Fixture, directory: Path, count: int) -> dict[str, float]:
    """Issuance, OCSP (store, nonce) and GetEtk rates per second on the current database."""
    issuer = platform.hierarchy.issuing.certificate
    revocation = platform._revocation  # below the in-memory kept answers (docstring)
    sample = random.Random(len(fixture.serials)).sample
    serials = sample(fixture.serials, min(LOOKUPS, len(fixture.serials)))
    holders = sample(fixture.holders, min(LOOKUPS, len(fixture.holders)))
    plain = [ocsp_request(issuer, s, nonce=False) for s in serials]
    for request in plain:  # the answers are made once and kept in the store
        revocation.ocsp(request)
    nonced = [ocsp_request(issuer, s, nonce=True) for s in serials[:100]]
    bodies = prepared_requests(platform, count + 10, directory)
    issue_all(platform, bodies[:10])
    now = platform.now()
    return {
        "issuance": issue_all(platform, bodies[10:]),
        "ocsp_store": max(_rate_over(plain, revocation.ocsp) for _ in range(3)),
        "ocsp_nonce": _rate_over(nonced, revocation.ocsp),
        "etk_1": max(
            _rate_over(holders, lambda h: platform.etk_depot.lookup([f"SSIN={h}"], now))
            for _ in range(3)
        ),
    }


def csv_import_rate(database: Database, path: Path, now: dt.datetime) -> float:
    start = time.perf_counter()
    report = import_providers_csv(database, path, now)
    return report.accepted / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=250_000)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=100, help="issuances per measurement")
    parser.add_argument("--import-rows", type=int, default=50_000)
    arguments = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-scale-") as temporary:
        directory = Path(temporary)
        with platform_on("postgresql", directory) as platform:
            url = platform.database.url
            template = _template_certificate(platform, directory)
            fixture = Fixture(url, platform.settings.environment, template, platform.now())
            built_small = fixture.grow(SMALL, SMALL * 4, SMALL // 10)
            print(f"small fixture: {fixture.certificates} certificates in {built_small:.1f} s")
            small = rates(platform, fixture, directory, arguments.count)
            print("small:", {k: round(v, 1) for k, v in small.items()}, flush=True)
            built = fixture.grow(arguments.providers, arguments.certificates, arguments.revoked)
            print(
                f"full fixture: {fixture.providers} providers, {fixture.certificates} "
                f"certificates ({fixture.revoked} revoked) in {built:.1f} s", flush=True,
            )  # fmt: skip
            full = rates(platform, fixture, directory, arguments.count)
            print("full:", {k: round(v, 1) for k, v in full.items()}, flush=True)
            crl_seconds = median_seconds(
                lambda: platform.crl(platform.settings.environment, force=True), repeats=1
            )
            crl_size = len(platform.crl(platform.settings.environment))
            csv = directory / "import.csv"
            generate(csv, arguments.import_rows, 0)
            _shift_ssins(csv, directory / "import-half-new.csv", arguments.import_rows)
            full_import = csv_import_rate(
                platform.database, directory / "import-half-new.csv", platform.now()
            )
        with temporary_postgresql_database() as empty_url:
            empty = Database(empty_url)
            try:
                empty.migrate()
                empty_import = csv_import_rate(
                    empty, directory / "import-half-new.csv", platform.now()
                )
            finally:
                empty.dispose()
    _report(small, full, built, fixture, crl_seconds, crl_size, full_import, empty_import)


def _shift_ssins(source: Path, target: Path, rows: int) -> None:
    """The CSV of ``bench_csv_import.generate`` with its second half replaced by providers
    of the fixture (``FIRST_INDEX`` onwards): half new rows, half updates."""
    lines = source.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    out = io.StringIO()
    out.write(header + "\n")
    for position, line in enumerate(body):
        fields = line.split(",")
        if position >= rows // 2:
            fields[0] = example_ssin(FIRST_INDEX + position)
            fields[1] = ""
        out.write(",".join(fields) + "\n")
    target.write_text(out.getvalue(), encoding="utf-8")


def _template_certificate(platform: Platform, directory: Path) -> bytes:
    """The DER of one certificate the platform really issued (the fixture rows' ``der``)."""
    bodies = prepared_requests(platform, 1, directory)
    issue_all(platform, bodies)
    with platform.unit_of_work() as session:
        der = session.execute(text("SELECT der FROM certificates LIMIT 1")).scalar_one()
    return bytes(der)


def _report(
    small: dict[str, float],
    full: dict[str, float],
    built: float,
    fixture: Fixture,
    crl_seconds: float,
    crl_size: int,
    full_import: float,
    empty_import: float,
) -> None:
    size = f"{fixture.providers:,} providers, {fixture.certificates:,} certificates"
    note = f"fixture built by COPY in {built:.0f} s"
    for key, name in (
        ("issuance", "issuance in-process"),
        ("ocsp_store", "OCSP, answer kept in the store"),
        ("ocsp_nonce", "OCSP with nonce (row read, signed)"),
        ("etk_1", "GetEtk, 1 id"),
    ):
        record(
            Figure(
                "scale", f"{name}, {size}", full[key], "/s",
                f"same, {SMALL:,} providers", small[key], target=0.8, note=note,
            )
        )  # fmt: skip
    record(
        Figure(
            "scale", f"CRL with {fixture.revoked:,} revoked entries (made, linted, signed)",
            crl_seconds, "s", "none (time)", crl_seconds, higher_is_better=False,
            note=f"{crl_size / 1e6:.1f} MB",
        )
    )  # fmt: skip
    record(
        Figure(
            "scale", f"CSV import into {size}", full_import, "rows/s",
            "same file into an empty registry", empty_import,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
