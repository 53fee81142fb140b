"""The fixed surroundings some targets parse against, made once per process.

- the interop keystores and CA certificates of ``tests/fixtures/etee`` (password
  ``test``), for ETKs and sealed messages;
- the STS and holder certificates the SAML corpus was signed for (``fuzz/context/saml``,
  written by ``fuzz/make_corpus.py``; certificates only, no key);
- a platform on SQLite in a scratch directory, for OCSP requests; the corpus's requests
  carry placeholder issuer hashes that :func:`ocsp_platform` users swap for its own;
- a migrated SQLite registry in a scratch directory, for CSV imports.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import tempfile
from pathlib import Path

from cryptography import x509
from fuzzing import CONTEXT_DIR, REPO_DIR

from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import Keystore

INTEROP = REPO_DIR / "tests" / "fixtures" / "etee"
T_PLATFORM = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return x509.load_der_x509_certificate(base64.b64decode(data))


@functools.cache
def interop_anchors() -> tuple[x509.Certificate, ...]:
    return tuple(_certificate(p) for p in sorted((INTEROP / "imports").iterdir()))


@functools.cache
def bob_keystore() -> Keystore:
    return read_keystore_file(INTEROP / "bob" / "bobs_private_key_store.p12", "test")


@functools.cache
def saml_certificates() -> tuple[x509.Certificate, x509.Certificate]:
    """(STS certificate, holder certificate) of the SAML corpus."""
    directory = CONTEXT_DIR / "saml"
    return _certificate(directory / "sts.pem"), _certificate(directory / "holder.pem")


@functools.cache
def scratch_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="ehcert-fuzz-"))


@functools.cache
def ocsp_platform() -> object:
    """A platform with its own CA hierarchy on SQLite (typed loosely: server package)."""
    from ehcert.core.clock import FixedClock
    from ehcert.platform import Platform
    from ehcert.settings import Settings

    directory = scratch_directory() / "platform"
    directory.mkdir()
    settings = Settings(data_dir=directory, public_url="http://127.0.0.1:1")
    return Platform.open(settings, FixedClock(T_PLATFORM))


@functools.cache
def registry_database() -> object:
    from ehcert.store.db import Database, sqlite_url

    database = Database(sqlite_url(scratch_directory() / "registry.db"))
    database.migrate()
    return database
