"""Names that moved between PKI modules stay importable from where they used to live.

Revocation moved from ``pathval`` to ``revocation``; the PFX container from ``pkcs12_pbe``
to ``pkcs12_pfx`` and the file's certificate chains from ``keystore`` to ``pkcs12_pfx``.
The modules depend on each other one way only, so importing any of them first, in a fresh
interpreter, must work.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ehcert.pki import keystore, pathval, pkcs12_pbe, pkcs12_pfx, revocation


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


@pytest.mark.parametrize(
    "first",
    ["revocation", "pathval", "pkcs12_pfx", "pkcs12_pbe", "keystore"],
)
def test_any_module_can_be_imported_first(first: str) -> None:
    script = (
        f"import ehcert.pki.{first}\n"
        "from ehcert.pki.pathval import RevocationStatus, crl_revocation_checker\n"
        "from ehcert.pki.pkcs12_pbe import PlainBag, open_pfx, seal_pfx\n"
        "from ehcert.pki.keystore import load_keystore\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
