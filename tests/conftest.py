"""Session-wide fixtures: one CA hierarchy per session, platforms on SQLite and PostgreSQL.

RSA keys are the slow part of PKI tests, so the CA hierarchy (root, issuing, OCSP, test
eID CAs) is generated once per session in a template data directory and copied for each
platform; the platform then runs with a :class:`FixedClock` so no test depends on today.

Tests that use ``database`` (the store and registry tests) run against SQLite and
PostgreSQL: one database per backend and test module, migrated once and emptied before
each test. An unreachable PostgreSQL fails those tests instead of skipping them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.core.clock import FixedClock
from ehcert.platform import Platform
from ehcert.settings import Environment, Settings
from ehcert.store.db import Database, sqlite_url
from ehcert.store.testing import PostgresUnavailable, reset_tables, temporary_postgresql_database

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

# SoftHSM2 reads SOFTHSM2_CONF once, when the PKCS#11 module is first loaded in a process:
# every test that makes a token does so under this one configuration directory.
# Under pytest-xdist each worker process inherits what the controller set here, so a
# directory this conftest made in another process is not reused: every worker makes its own
# (two processes creating tokens in one directory would see each other's).
_OWNER = "EHCERT_TEST_SETUP_PID"
_inherited = os.environ.get(_OWNER) not in (None, str(os.getpid()))
os.environ[_OWNER] = str(os.getpid())

if "SOFTHSM2_CONF" not in os.environ or _inherited:
    _softhsm_dir = Path(tempfile.mkdtemp(prefix="ehcert-softhsm-"))
    os.environ["SOFTHSM2_CONF"] = str(_softhsm_dir / "softhsm2.conf")

# The CA key passphrase lives outside the data directory (``Settings.passphrase_path``).
# Tests copy one template data directory many times; one passphrase file for the whole
# session lets every copy, and every ``ehcert`` process a test starts, open its keys.
if "EHCERT_CA_PASSPHRASE_FILE" not in os.environ or _inherited:
    _secrets_dir = Path(tempfile.mkdtemp(prefix="ehcert-secrets-"))
    os.environ["EHCERT_CA_PASSPHRASE_FILE"] = str(_secrets_dir / "ca-passphrase")


def without_faketime(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without libfaketime, for a child process that must see the machine's
    own clock (or have it set by a ``faketime`` wrapper alone): ``make test-future`` runs
    the suite under libfaketime, every child inherits it, and Debian's ``faketime``
    wrapper refuses to start inside it ("sem_open: File exists")."""
    env = {key: value for key, value in environ.items() if not key.startswith("FAKETIME")}
    preload = [lib for lib in env.pop("LD_PRELOAD", "").split() if "faketime" not in lib]
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    return env


@pytest.fixture(scope="session")
def softhsm_conf_dir() -> Path:
    """Where tokens live: pass it to ``pki.pkcs11.init_softhsm_token``."""
    return Path(os.environ["SOFTHSM2_CONF"]).parent


def _hierarchy_template(directory: Path, environment: Environment) -> Path:
    settings = Settings(
        data_dir=directory, public_url="http://127.0.0.1:1", environment=environment
    )
    Platform.open(settings, FixedClock(T0)).database.dispose()
    (directory / "ehcert.db").unlink()
    for leftover in directory.glob("ehcert.db-*"):
        leftover.unlink()
    return directory


@pytest.fixture(scope="session")
def ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with an initialised acceptance hierarchy (keys made once)."""
    return _hierarchy_template(tmp_path_factory.mktemp("ca-template"), "acceptance")


@pytest.fixture(scope="session")
def production_ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with an initialised production hierarchy (keys made once), for the
    tests of what each environment refuses of the other's."""
    return _hierarchy_template(tmp_path_factory.mktemp("production-ca-template"), "production")


@pytest.fixture(scope="session")
def session_rsa_keys() -> list[rsa.RSAPrivateKey]:
    """A pool of 2048-bit keys for requesters (CSR keys), made once per session."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(8)]


def copy_template(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@pytest.fixture
def fixed_clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database per backend and test module (see the module docstring)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_url(tmp_path_factory.mktemp("database") / "ehcert.db")
        else:
            try:
                url = stack.enter_context(temporary_postgresql_database())
            except PostgresUnavailable as error:
                pytest.fail(f"PostgreSQL is required for these tests: {error}")
        database = Database(url)
        stack.callback(database.dispose)
        database.migrate()
        yield database


@pytest.fixture
def database(migrated_database: Database) -> Database:
    """``migrated_database`` with every table emptied: each test starts from nothing."""
    reset_tables(migrated_database)
    return migrated_database
