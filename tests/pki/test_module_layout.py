"""Names that moved between PKI modules stay importable from where they used to live.

Revocation moved from ``pathval`` to ``revocation``; the PFX container from ``pkcs12_pbe``
to ``pkcs12_pfx`` and the file's certificate chains from ``keystore`` to ``pkcs12_pfx``.
The eID builders moved from ``profiles`` to ``eid_profiles`` (their shared parts to
``profile_parts``), ETK building from ``etk`` to ``etk_build``, the keystore's entry types
to ``keystore_entries``, the shared PKCS#11 sessions to ``pkcs11_sessions`` and path
building from ``pathval`` to ``path_building``.
The modules depend on each other one way only, so importing any of them first, in a fresh
interpreter, must work.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ehcert.pki import (
    eid_profiles,
    etk,
    etk_build,
    keystore,
    keystore_entries,
    path_building,
    pathval,
    pkcs11,
    pkcs11_sessions,
    pkcs12_pbe,
    pkcs12_pfx,
    profile_parts,
    profiles,
    revocation,
)


def test_pathval_reexports_the_revocation_names() -> None:
    from ehcert.pki.pathval import (
        KeyPurpose,
        RevocationState,
        RevocationStatus,
        crl_revocation_checker,
        describe_name,
        validate_path,
    )

    assert RevocationStatus is revocation.RevocationStatus
    assert RevocationState is revocation.RevocationState
    assert crl_revocation_checker is revocation.crl_revocation_checker
    assert describe_name is revocation.describe_name
    assert pathval.RevocationChecker is revocation.RevocationChecker
    assert KeyPurpose.OCSP_SIGNING.value.extended_key_usage_required
    assert validate_path.__module__ == "ehcert.pki.pathval"
    assert set(pathval.__all__) <= set(dir(pathval))


def test_pkcs12_pbe_still_serves_the_pfx_names() -> None:
    from ehcert.pki.pkcs12_pbe import PlainBag, open_pfx, seal_pfx

    assert PlainBag is pkcs12_pfx.PlainBag
    assert open_pfx is pkcs12_pfx.open_pfx
    assert seal_pfx is pkcs12_pfx.seal_pfx
    with pytest.raises(AttributeError, match="no_such_name"):
        pkcs12_pbe.no_such_name  # noqa: B018 -- the attribute lookup is the test


def test_keystore_keeps_the_names_it_imported() -> None:
    for name in ("MAX_ITERATIONS", "PbeError", "WrongPasswordError"):
        assert getattr(keystore, name) is getattr(pkcs12_pbe, name)
    for name in ("PlainBag", "open_pfx", "seal_pfx"):
        assert getattr(keystore, name) is getattr(pkcs12_pfx, name)


def test_split_modules_keep_every_name_where_it_was() -> None:
    moved = [
        (profiles, eid_profiles, "eid_citizen_ca_builder"),
        (profiles, eid_profiles, "eid_authentication_subject"),
        (profiles, eid_profiles, "eid_authentication_builder"),
        (profiles, profile_parts, "SERIAL_NUMBER_LIMIT"),
        (profiles, profile_parts, "CertificatePublicKey"),
        (etk, etk_build, "build_etk"),
        (keystore, keystore_entries, "AUTHENTICATION_ALIAS"),
        (keystore, keystore_entries, "KeyEntry"),
        (keystore, keystore_entries, "UnsupportedKeyEntry"),
        (keystore, keystore_entries, "Keystore"),
        (pkcs11, pkcs11_sessions, "close_sessions"),
        (pathval, path_building, "MAX_PATH_CERTIFICATES"),
        (pathval, path_building, "MAX_CANDIDATE_PATHS"),
        (pathval, path_building, "MAX_BUILD_STEPS"),
    ]
    for old_home, new_home, name in moved:
        assert getattr(old_home, name) is getattr(new_home, name), name
        assert name in old_home.__all__, name
    for module in (profiles, etk, keystore, pkcs11, pathval):
        assert set(module.__all__) <= set(dir(module)), module.__name__


@pytest.mark.parametrize(
    "first",
    [
        "revocation",
        "pathval",
        "path_building",
        "pkcs12_pfx",
        "pkcs12_pbe",
        "keystore",
        "keystore_entries",
        "profiles",
        "eid_profiles",
        "profile_parts",
        "etk",
        "etk_build",
        "pkcs11",
        "pkcs11_sessions",
    ],
)
def test_any_module_can_be_imported_first(first: str) -> None:
    script = (
        f"import ehcert.pki.{first}\n"
        "from ehcert.pki.pathval import RevocationStatus, crl_revocation_checker\n"
        "from ehcert.pki.pkcs12_pbe import PlainBag, open_pfx, seal_pfx\n"
        "from ehcert.pki.keystore import load_keystore\n"
        "from ehcert.pki.keystore import KeyEntry, Keystore\n"
        "from ehcert.pki.profiles import eid_authentication_builder, random_serial\n"
        "from ehcert.pki.etk import build_etk, parse_etk, verify_etk\n"
        "from ehcert.pki.pkcs11 import Pkcs11Token, close_sessions\n"
        "from ehcert.pki.pathval import MAX_PATH_CERTIFICATES, validate_path\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
