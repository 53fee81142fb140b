"""A backup restored as docs/operator-guide.md says, then checked with ``admin audit verify``.

The platform is the data directory (CA certificates, key generations, encrypted CA keys
unless they are in an HSM, root CRLs) plus the database. SQLite is backed up with the
sqlite3 shell's online ``.backup`` while serving, or by copying the file once no
connection is open; PostgreSQL with ``pg_dump --format=custom`` and ``pg_restore``. The
restored platform must verify its audit chain, know every certificate and answer OCSP
for a revoked one as revoked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ehcert.core.clock import FixedClock
from ehcert.manager.revocation import revoke_certificate
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.ocsp_status import ocsp_request_for, status_from_ocsp_response
from ehcert.pki.revocation import RevocationState
from ehcert.platform import Platform
from ehcert.settings import Settings
from ehcert.store.audit import verify_audit_chain
from ehcert.store.db import sqlite_url
from ehcert.store.models import CertificateRow
from ehcert.store.testing import temporary_postgresql_database

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

EHCERT = Path(sys.executable).with_name("ehcert")


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore read it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _data_dir_backup(source: Path, target: Path) -> None:
    """The data directory without the database files (backed up on their own)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("ehcert.db*", "*.p12"))


def _verified(data_dir: Path, db_url: str) -> str:
    run = subprocess.run(
        [str(EHCERT), "admin", "audit", "verify", "--data-dir", str(data_dir), "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def _check_restored(actors: Actors, data_dir: Path, db_url: str, revoked_serial: int) -> None:
    with actors.env.platform.database.session() as session:
        expected = verify_audit_chain(session).records
        certificates = session.execute(select(func.count()).select_from(CertificateRow)).scalar()
    assert expected > 0
    assert f"({expected} records)" in _verified(data_dir, db_url)
    settings = Settings(data_dir=data_dir, db=db_url, public_url=actors.env.url)
    restored = Platform.open(settings, FixedClock(actors.env.clock.now()), initialise=False)
    try:
        with restored.database.session() as session:
            count = session.execute(select(func.count()).select_from(CertificateRow)).scalar()
        assert count == certificates
        issuing = restored.hierarchy.issuing.certificate
        with restored.database.session() as session:
            row = session.execute(
                select(CertificateRow).where(
                    CertificateRow.serial_hex == format(revoked_serial, "x")
                )
            ).scalar_one()
            der = row.der
        from cryptography import x509

        certificate = x509.load_der_x509_certificate(der)
        answer = restored.ocsp(ocsp_request_for(certificate, issuing))
        status = status_from_ocsp_response(answer, certificate, issuing, actors.env.clock.now())
        assert status.state is RevocationState.REVOKED
    finally:
        restored.database.dispose()


def test_backup_and_restore(actors: Actors, tmp_path: Path) -> None:
    actors.add_provider()
    kept = actors.keystore(actors.eid())
    revoked = actors.keystore(actors.eid(), folder="other")
    serial = read_keystore_file(revoked, actors.password).authentication().certificate
    with actors.env.client() as client:
        revoke_certificate(client, revoked, actors.password, "keyCompromise")
    assert kept.exists()
    env = actors.env
    source_url = env.platform.settings.database_url

    if env.backend == "sqlite":
        source_file = env.data_dir / "ehcert.db"
        # Hot: the sqlite3 shell's online backup, consistent while the platform serves.
        hot = tmp_path / "hot"
        _data_dir_backup(env.data_dir, hot)
        subprocess.run(
            ["sqlite3", str(source_file), f".backup '{hot / 'ehcert.db'}'"], check=True, timeout=60
        )
        _check_restored(actors, hot, sqlite_url(hot / "ehcert.db"), serial.serial_number)
        # Cold: no connection open (the service stopped), then a plain file copy.
        env.platform.database.dispose()
        assert not list(env.data_dir.glob("ehcert.db-wal")) or (
            (env.data_dir / "ehcert.db-wal").stat().st_size == 0
        )
        cold = tmp_path / "cold"
        _data_dir_backup(env.data_dir, cold)
        shutil.copy2(source_file, cold / "ehcert.db")
        _check_restored(actors, cold, sqlite_url(cold / "ehcert.db"), serial.serial_number)
    else:
        dump = tmp_path / "ehcert.dump"
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), _libpq(source_url)],
            check=True,
            timeout=120,
        )
        restored_dir = tmp_path / "restored"
        _data_dir_backup(env.data_dir, restored_dir)
        with temporary_postgresql_database() as target_url:
            subprocess.run(
                ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq(target_url),
                 str(dump)],
                check=True,
                timeout=120,
            )  # fmt: skip
            _check_restored(actors, restored_dir, target_url, serial.serial_number)
