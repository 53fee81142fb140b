"""ETKs whose encryption certificate is EC (eHealth's second-generation tokens): read,
verified, shown by ``ehcert etk show``, and sealed to."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from ehcert.cli.etk import etk_app
from ehcert.cli.options import CertRuntime
from ehcert.client.etee import seal, unseal
from ehcert.client.etee.cms import ECDSA_SHA384, CertificatePair, build_signed_data
from ehcert.core.clock import FixedClock
from ehcert.manager.local_etk import describe_etk, usable_etk_file
from ehcert.pki.etk import EtkTrust, parse_etk, verify_etk
from ehcert.pki.etk_build import build_etk
from ehcert.pki.keystore_entries import KeyEntry
from ehcert.pki.profile_parts import key_usage
from ehcert.pki.revocation import crl_revocation_checker
from ehcert.pki.signer import PrivateKeySigner

from .conftest import T_OWN, Provider, ec_provider


def _etk(provider: Provider, own_pki) -> bytes:
    return build_etk(
        provider.encryption.certificate,
        [provider.authentication.certificate, own_pki.root],
        own_pki.depot.certificate,
        PrivateKeySigner(own_pki.depot.private_key),
        T_OWN,
    )


def _empty_crl(own_pki) -> x509.CertificateRevocationList:
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(own_pki.root.subject)
        .last_update(T_OWN - dt.timedelta(hours=1))
        .next_update(T_OWN + dt.timedelta(days=1))
        .sign(own_pki.root_key, hashes.SHA256())
    )


@pytest.mark.parametrize(("who", "label"), [("dave", "EC secp384r1"), ("erin", "EC secp256r1")])
def test_ec_etk_is_read_verified_and_described(own_pki, ec_pki, who, label, tmp_path) -> None:
    provider = getattr(ec_pki, who)
    etk = parse_etk(_etk(provider, own_pki))
    assert etk.encryption_certificate == provider.encryption.certificate
    assert etk.authentication_certificate == provider.authentication.certificate
    verdict = verify_etk(
        etk,
        anchors=[own_pki.root],
        at=T_OWN,
        revocation=crl_revocation_checker([_empty_crl(own_pki)], at=T_OWN),
    )
    assert verdict.usable and verdict.trust is EtkTrust.TRUSTED, verdict
    view = describe_etk(tmp_path / "x.etk", etk, verdict)
    assert view.key_type == label and view.usable and view.depot_signature_valid


def test_ec_etk_signed_by_an_ec_depot_verifies(own_pki, ec_pki) -> None:
    """The depot's own signature may be ECDSA too (one CMS signature check for all)."""
    depot_key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "EC depot (test)")])
    depot_certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(own_pki.root.subject)
        .public_key(depot_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
        .sign(own_pki.root_key, hashes.SHA256())
    )
    dave = ec_pki.dave
    depot = CertificatePair.from_certificate(depot_certificate)
    data = b"".join(
        build_signed_data(
            [dave.encryption.certificate.public_bytes(serialization.Encoding.DER)],
            signer=depot,
            sign=lambda message: depot_key.sign(message, ec.ECDSA(hashes.SHA384())),
            signature_algorithm=ECDSA_SHA384,
            certificates=[
                CertificatePair.from_certificate(c)
                for c in (dave.authentication.certificate, own_pki.root, depot_certificate)
            ],
            signing_time=T_OWN,
            digest_algorithm="sha384",
        )
    )
    etk = parse_etk(data)
    assert etk.depot_certificate == depot_certificate
    verdict = verify_etk(etk, anchors=[own_pki.root], at=T_OWN)
    assert verdict.usable, verdict
    tampered = bytearray(data)
    tampered[-3] ^= 0x01  # inside the DER ECDSA-Sig-Value, the last field
    assert (
        "etk_signature"
        in verify_etk(parse_etk(bytes(tampered)), anchors=[own_pki.root], at=T_OWN).codes
    )


def test_ec_encryption_certificate_must_allow_key_agreement(own_pki) -> None:
    """RFC 5480 section 3: an EC key is used for ECDH, so keyAgreement, not
    keyEncipherment (an RSA-only bit)."""
    wrong = ec_provider(
        "83121013336",
        "Frank",
        own_pki.root,
        own_pki.root_key,
        ec.SECP384R1(),
        hashes.SHA384(),
        encryption_usage=key_usage(key_encipherment=True),
    )
    verdict = verify_etk(parse_etk(_etk(wrong, own_pki)), anchors=[own_pki.root], at=T_OWN)
    assert not verdict.valid and "encryption_key_usage" in verdict.codes
    [issue] = verdict.validity_issues
    assert issue.detail.endswith("does not allow key agreement.")


def test_ec_etk_on_a_curve_outside_the_policy_is_invalid(own_pki) -> None:
    off_policy = ec_provider(
        "83121013336", "Frank", own_pki.root, own_pki.root_key, ec.SECP521R1(), hashes.SHA512()
    )
    verdict = verify_etk(parse_etk(_etk(off_policy, own_pki)), anchors=[own_pki.root], at=T_OWN)
    assert not verdict.valid and "encryption_key_algorithm" in verdict.codes
    assert "(EC (P-521))" in (verdict.reason() or "")


def test_seal_to_an_ec_etk_file(own_pki, ec_pki, tmp_path) -> None:
    """An ETK file one holds (``seal --to-etk``): verified as the depot's would be, then
    sealed to; the holder opens it."""
    path = tmp_path / "dave.etk"
    path.write_bytes(_etk(ec_pki.dave, own_pki))
    etk = usable_etk_file(
        path,
        anchors=[own_pki.root],
        at=T_OWN,
        revocation=crl_revocation_checker([_empty_crl(own_pki)], at=T_OWN),
    )
    message = seal(
        b"referral",
        sender=own_pki.alice.authentication,
        recipients=[etk.encryption_certificate],
        signing_time=T_OWN,
    )
    opened = unseal(message, [ec_pki.dave.keystore], anchors=[own_pki.root], at=T_OWN)
    assert opened.content == b"referral" and opened.report.trust.trusted, opened.report


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(etk_app, name="etk")
    return root


def test_etk_show_names_the_ec_key_in_text_and_json(cli, own_pki, ec_pki, tmp_path) -> None:
    """Offline, the authentication certificate's status is unknown, so the token is not
    usable (exit 1), but it is read, its signature verified and its key type shown."""
    path = tmp_path / "dave.etk"
    path.write_bytes(_etk(ec_pki.dave, own_pki))
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(own_pki.root.public_bytes(serialization.Encoding.PEM))
    runner = CliRunner()
    arguments = ["etk", "show", str(path), "--anchor", str(anchor), "--offline"]
    runtime = CertRuntime(clock=FixedClock(T_OWN))
    shown = runner.invoke(cli, [*arguments, "--json"], obj=runtime)
    assert shown.exit_code == 1, shown.output
    view = json.loads(shown.stdout)
    assert view["key_type"] == "EC secp384r1"
    assert view["valid"] is True and view["depot_signature_valid"] is True
    assert [i["code"] for i in view["issues"]] == ["authentication_revocation_unknown"]
    text = runner.invoke(cli, arguments, obj=runtime)
    assert text.exit_code == 1 and "Traceback" not in text.output
    assert any(
        line.startswith("Key:") and line.endswith("EC secp384r1")
        for line in text.stdout.splitlines()
    ), text.stdout


def test_key_entry_holds_ec_keys(ec_pki) -> None:
    entry = ec_pki.dave.encryption
    assert isinstance(entry, KeyEntry) and isinstance(entry.private_key, ec.EllipticCurvePrivateKey)
    with pytest.raises(ValueError, match="does not belong"):
        KeyEntry("1", ec.generate_private_key(ec.SECP384R1()), entry.certificate)
