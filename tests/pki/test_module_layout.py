"""Each PKI name has one home, and the modules depend on each other one way only.

Modules split by meaning (revocation out of path validation, the PFX container out of
the PBE algorithms, the keystore's entry types, the eID profiles, ETK building, the
shared PKCS#11 sessions, path building) are imported from where they live: the modules
they left do not serve them again, so there is one place to read and no cycle to hide.
Importing any of them first, in a fresh interpreter, must work.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ehcert.pki import etk, keystore, pathval, pkcs11, pkcs12_pbe, profiles

MOVED = [
    (pathval, "RevocationStatus"),
    (pathval, "crl_revocation_checker"),
    (pathval, "MAX_PATH_CERTIFICATES"),
    (keystore, "KeyEntry"),
    (keystore, "Keystore"),
    (profiles, "eid_authentication_builder"),
    (profiles, "SERIAL_NUMBER_LIMIT"),
    (etk, "build_etk"),
    (pkcs11, "close_sessions"),
    (pkcs12_pbe, "open_pfx"),
]


@pytest.mark.parametrize(("old_home", "name"), MOVED, ids=lambda v: getattr(v, "__name__", v))
def test_a_moved_name_is_not_served_by_the_module_it_left(old_home: object, name: str) -> None:
    assert name not in getattr(old_home, "__all__", ())
    assert not hasattr(old_home, "__getattr__")  # no module-level lookup of moved names


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
        "from ehcert.pki.revocation import RevocationStatus, crl_revocation_checker\n"
        "from ehcert.pki.pkcs12_pfx import PlainBag, open_pfx, seal_pfx\n"
        "from ehcert.pki.keystore import load_keystore\n"
        "from ehcert.pki.keystore_entries import KeyEntry, Keystore\n"
        "from ehcert.pki.eid_profiles import eid_authentication_builder\n"
        "from ehcert.pki.profiles import random_serial\n"
        "from ehcert.pki.etk import parse_etk, verify_etk\n"
        "from ehcert.pki.etk_build import build_etk\n"
        "from ehcert.pki.pkcs11 import Pkcs11Token\n"
        "from ehcert.pki.pkcs11_sessions import close_sessions\n"
        "from ehcert.pki.pathval import validate_path\n"
        "from ehcert.pki.path_building import MAX_PATH_CERTIFICATES\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
