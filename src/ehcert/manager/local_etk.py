"""ETK files one already holds: read, verify and describe them, or seal to them.

An ETK someone handed over (or ``ehcert etk get --out`` wrote earlier) deserves exactly
the checks one fetched from the depot gets (:func:`ehcert.pki.etk.verify_etk`): the
depot's CMS signature, the encryption certificate signed by the holder's authentication
key, same subject, key rules, the authentication certificate's chain to the anchors and
its validity now, and its revocation status through the caller's checker. A file is
never trusted more than the depot's answer would be; an ETK whose authentication
certificate reaches no anchor is refused for sealing ("unknown" trust), as in
``seal_for``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.etk import Etk, EtkVerdict, parse_etk, verify_etk
from ehcert.pki.public_keys import describe_key
from ehcert.pki.revocation import RevocationChecker, describe_name


@dataclass(frozen=True, slots=True)
class LocalEtkView:
    """What ``ehcert etk show FILE`` reports."""

    file: str
    holder: str
    encryption_serial: str
    authentication_serial: str
    key_type: str
    not_before: str
    not_after: str
    depot: str | None
    depot_signature_valid: bool
    valid: bool
    trust: str
    usable: bool
    fingerprint: str
    issues: list[dict[str, str]] = field(default_factory=list)


def key_type(certificate: x509.Certificate) -> str:
    """``RSA 2048``, ``EC secp384r1``: what kind of key a recipient will be sealed to."""
    return describe_key(certificate.public_key())


def read_etk_file(path: Path) -> Etk:
    """Parse the ETK in ``path`` (DER CMS SignedData); clear errors naming the file."""
    if not path.is_file():
        raise EhcertError(ErrorKind.NOT_FOUND, f"The ETK file {path} does not exist.", field="etk")
    try:
        return parse_etk(path.read_bytes())
    except EhcertError as error:
        raise EhcertError(
            error.kind, f"{path} is not a readable ETK: {error.detail}", field="etk"
        ) from None


def check_etk_file(
    path: Path,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    revocation: RevocationChecker | None,
) -> tuple[Etk, EtkVerdict]:
    etk = read_etk_file(path)
    return etk, verify_etk(etk, anchors=anchors, at=at, revocation=revocation)


def describe_etk(path: Path, etk: Etk, verdict: EtkVerdict) -> LocalEtkView:
    encryption, authentication = etk.encryption_certificate, etk.authentication_certificate
    issues = [*verdict.validity_issues, *verdict.trust_issues]
    return LocalEtkView(
        file=str(path),
        holder=describe_name(authentication.subject),
        encryption_serial=format(encryption.serial_number, "d"),
        authentication_serial=format(authentication.serial_number, "x"),
        key_type=key_type(encryption),
        not_before=encryption.not_valid_before_utc.isoformat(),
        not_after=encryption.not_valid_after_utc.isoformat(),
        depot=None
        if etk.depot_certificate is None
        else describe_name(etk.depot_certificate.subject),
        depot_signature_valid="etk_signature" not in verdict.codes,
        valid=verdict.valid,
        trust=verdict.trust.value,
        usable=verdict.usable,
        fingerprint=etk.fingerprint_sha256,
        issues=[{"code": i.code, "detail": i.detail} for i in issues],
    )


def usable_etk_file(
    path: Path,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    revocation: RevocationChecker | None,
) -> Etk:
    """The ETK in ``path`` if it may be sealed to, else EhcertError(UNTRUSTED) saying why."""
    etk, verdict = check_etk_file(path, anchors=anchors, at=at, revocation=revocation)
    if not verdict.usable:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The ETK in {path} cannot be used: {verdict.reason()}",
            field="to-etk",
        )
    return etk
