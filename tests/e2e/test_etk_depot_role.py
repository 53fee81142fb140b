"""The ETK depot signer in the CA hierarchy: made at init, added to older data dirs."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.core.clock import FixedClock
from ehcert.pki.lint import LintProfile, blocking, lint_certificate
from ehcert.platform import Platform
from ehcert.settings import Settings

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_a_data_dir_without_a_depot_signer_gets_one_on_open(
    ca_template: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "old"
    shutil.copytree(ca_template, data_dir)
    pki = data_dir / "pki" / "acceptance"
    (pki / "etk-depot.crt").unlink()
    (pki / "etk-depot.key").unlink()
    issuing_before = (pki / "issuing.crt").read_bytes()

    later = T0 + dt.timedelta(days=400)
    settings = Settings(data_dir=data_dir, public_url="http://127.0.0.1:1")
    platform = Platform.open(settings, FixedClock(later), initialise=False)
    try:
        depot = platform.hierarchy.etk_depot.certificate
        issuing = platform.hierarchy.issuing.certificate
        assert (pki / "issuing.crt").read_bytes() == issuing_before
        assert (pki / "etk-depot.crt").exists()
        depot.verify_directly_issued_by(issuing)
        assert depot.not_valid_before_utc == later
        assert depot.not_valid_after_utc == issuing.not_valid_after_utc
        der = depot.public_bytes(serialization.Encoding.DER)
        assert blocking(lint_certificate(der, LintProfile.ETK_DEPOT)) == []
        usage = depot.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature
        assert not usage.value.key_cert_sign
    finally:
        platform.database.dispose()

    # Opening again loads the same signer instead of making another.
    reopened = Platform.open(settings, FixedClock(later), initialise=False)
    try:
        assert reopened.hierarchy.etk_depot.certificate == depot
    finally:
        reopened.database.dispose()

    chain = tmp_path / "chain.pem"
    chain.write_bytes(
        b"".join(
            c.public_bytes(serialization.Encoding.PEM)
            for c in (platform.hierarchy.root.certificate,)
        )
    )
    untrusted = tmp_path / "issuing.pem"
    untrusted.write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
    leaf = tmp_path / "depot.pem"
    leaf.write_bytes(depot.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "verify", "-attime", str(int(later.timestamp())), "-CAfile", chain,
         "-untrusted", untrusted, leaf],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
