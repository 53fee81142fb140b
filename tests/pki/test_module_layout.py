"""Each name has one home, and the modules depend on each other one way only.

Modules split by meaning (revocation out of path validation, the PFX container out of
the PBE algorithms, the keystore's entry types, the eID profiles, ETK building, the
shared PKCS#11 sessions, path building, the CLI's shared options and its keystore
commands) are imported from where they live: the modules they left do not serve them
again, so there is one place to read and no cycle to hide (``lint-imports`` checks the
cycles: the "No import cycles" contract in pyproject.toml). Importing any of them first,
in a fresh interpreter, must work.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ehcert.cli import admin, cert
from ehcert.manager import certificates
from ehcert.pki import etk, keystore, pathval, pkcs11, pkcs12_pbe, profiles

SOURCE = Path(__file__).resolve().parents[2] / "src" / "ehcert"

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
    (cert, "CertRuntime"),
    (cert, "LEGACY_WARNING"),
    (cert, "show_command"),
    (certificates, "renew_certificate"),
    (certificates, "revoke_with_eid"),
    (certificates, "describe_keystore"),
    (certificates, "Step"),
    (admin, "provider_app"),
    (admin, "DataDir"),
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


def _top_level_names(tree: ast.Module) -> tuple[set[str], list[str]]:
    defined: set[str] = set()
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                defined.add(target.id)
                if target.id == "__all__" and isinstance(node.value, ast.List | ast.Tuple):
                    exported = [str(ast.literal_eval(e)) for e in node.value.elts]
    return defined, exported


MODULES = sorted(p for p in SOURCE.rglob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_a_module_exports_only_what_it_defines(path: Path) -> None:
    """``__all__`` of a module names its own definitions, never names it imported.

    Package ``__init__`` modules may name their package's public surface (for example
    ``ehcert.client.etee``'s ``seal`` and ``unseal``); a plain module that lists imported
    names is a re-export shim for callers that should import from the home."""
    defined, exported = _top_level_names(ast.parse(path.read_text(encoding="utf-8")))
    assert [name for name in exported if name not in defined] == []
    assert "__getattr__" not in defined
