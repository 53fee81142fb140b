"""Unseal a triple-wrapped eHealth message: verify, decrypt with any key, verify again.

Order of work (each step named in the report when it fails):

1. the outer SignedData: exactly one SignerInfo whose certificate is in the message
   (the eHealth profile; otherwise the sender cannot be known: MALFORMED);
2. the outer signature over the EnvelopedData (RFC 5652 5.6), RSA or ECDSA;
3. the EnvelopedData, decrypted with every private key of every keystore given (the
   keystore keeps every encryption key ever held, so old messages still open): RSA keys
   by key transport, EC keys by ECDH key agreement (RFC 5753); a key agreement for one
   of our keys that cannot be used is reported as ``key_agreement_refused``, in one
   sentence naming the scheme, the wrap or the point;
4. the inner SignedData (one SignerInfo, certificates optional: the signer is looked up
   among the outer certificates) and its signature over the content;
5. trust: sender path to ``anchors`` at the signing time (the leaf's own validity is
   also checked now), revocation through the caller's checker, key usage and the key
   policy (RSA size, EC curve), same inner and outer signer, recipient certificate
   fitness (keyEncipherment for RSA, keyAgreement for EC); non-repudiation.

Structure problems raise ``EhcertError(MALFORMED)``; everything else goes in the report.
Unsigned attributes (e.g. signature timestamps of long-term variants) are not evaluated.

Memory: the input is walked in place (memoryview); the content is decrypted in chunks
straight into the ``bytes`` object returned (:func:`ehcert.client.etee.envelope.
_decrypt_content`), so peak ≈ 1 x message size above the input itself for the messages
ehcert and the eHealth libraries write (DER, primitive content), 2 x for BER from other
writers (measured in bench/bench_seal.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from ehcert.client.etee import der
from ehcert.client.etee.cms import (
    CertificatePair,
    SignedDataView,
    SignerInfo,
    check_signer,
    read_signed_data,
    read_split_signed_data,
    signer_identifier,
)
from ehcert.client.etee.envelope import (
    Plaintext,
    SplitPlaintext,
    open_envelope,
    read_enveloped_data,
)
from ehcert.client.etee.report import (
    DataVerdict,
    Issue,
    SignatureFacts,
    TrustVerdict,
    Unsealed,
    UnsealReport,
)
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.revocation import KEY_INTACT_REASONS
from ehcert.pki.cms_signature import OID_DATA, SignerCheck
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.pathval import validate_path
from ehcert.pki.public_keys import (
    allows_encryption,
    describe_key,
    encryption_usage_name,
    public_key_problem,
)
from ehcert.pki.revocation import (
    RevocationChecker,
    RevocationState,
    RevocationStatus,
    describe_subject,
)

MAX_MESSAGE_BYTES = 1 << 31


def _single_signer(view: SignedDataView, what: str) -> SignerInfo:
    if len(view.signer_infos) != 1:
        raise der.malformed(
            what, f"it has {len(view.signer_infos)} signers where the eHealth profile has one"
        )
    return view.signer_infos[0]


def _find_signer(
    signer_info: SignerInfo, pool: Sequence[CertificatePair]
) -> CertificatePair | None:
    sid = signer_identifier(signer_info)
    return next((pair for pair in pool if pair.matches(sid)), None)


def _facts(pair: CertificatePair, check: SignerCheck) -> SignatureFacts:
    return SignatureFacts(
        describe_subject(pair.certificate),
        pair.certificate.serial_number,
        check.digest_algorithm,
        check.signature_algorithm,
        check.signing_time,
        check.signature_valid,
    )


def _time_issues(
    certificate: x509.Certificate, who: str, label: str, moments: Sequence[tuple[str, dt.datetime]]
) -> list[Issue]:
    issues: list[Issue] = []
    subject = describe_subject(certificate)
    for when, moment in moments:
        if moment < certificate.not_valid_before_utc:
            issues.append(
                Issue(
                    "not_yet_valid",
                    who,
                    f"The {label} of {subject} was not yet valid {when} ({moment.date()}); "
                    f"it is valid from {certificate.not_valid_before_utc.date()}.",
                )
            )
        elif moment > certificate.not_valid_after_utc:
            issues.append(
                Issue(
                    "expired",
                    who,
                    f"The {label} of {subject} was no longer valid {when} ({moment.date()}); "
                    f"it expired on {certificate.not_valid_after_utc.date()}.",
                )
            )
    return issues


def _key_issues(certificate: x509.Certificate, who: str, label: str) -> list[Issue]:
    what = f"key of the {label} of {describe_subject(certificate)}"
    problem = public_key_problem(certificate.public_key(), what)
    return [] if problem is None else [Issue(problem.code, who, problem.detail)]


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _sender_trust(
    sender: CertificatePair,
    *,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    signing_time: dt.datetime | None,
    at: dt.datetime,
    revocation: RevocationChecker | None,
    allow_sha1: bool,
) -> list[Issue]:
    """Sender certificate checks (see the module docstring, step 5)."""
    certificate = sender.certificate
    label = "sender certificate"
    moments = (
        [("now", at)] if signing_time is None else [("at signing time", signing_time), ("now", at)]
    )
    issues = _time_issues(certificate, "sender", label, moments)
    issues += _key_issues(certificate, "sender", label)
    usage = _key_usage(certificate)
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        issues.append(
            Issue(
                "key_usage",
                "sender",
                f"The key usage of the {label} of {describe_subject(certificate)} does not "
                "allow signing.",
            )
        )
    # The path is checked at the signing time, moved inside the leaf's own validity so an
    # expired leaf (reported above) does not hide what is wrong higher up.
    moment = signing_time or at
    moment = min(max(moment, certificate.not_valid_before_utc), certificate.not_valid_after_utc)
    try:
        validate_path(
            certificate,
            intermediates,
            anchors,
            at=moment,
            purpose=None,
            revocation=None,
            leaf_label=label,
            allow_sha1_signatures=allow_sha1,
        )
    except EhcertError as failure:
        issues.append(Issue("untrusted_chain", "sender", failure.detail))
        return issues
    if revocation is not None:
        try:
            validate_path(
                certificate,
                intermediates,
                anchors,
                at=moment,
                purpose=None,
                revocation=_as_of_signing(revocation, signing_time),
                leaf_label=label,
                allow_sha1_signatures=allow_sha1,
            )
        except EhcertError as failure:
            code = "revoked" if failure.kind is ErrorKind.REVOKED else "revocation_unknown"
            issues.append(Issue(code, "sender", failure.detail))
    return issues


def _as_of_signing(
    checker: RevocationChecker, signing_time: dt.datetime | None
) -> RevocationChecker:
    """``checker``, judged at the signing time: a certificate revoked later, for a reason
    that leaves the key intact, was good when it signed (ETSI EN 319 102-1 5.2.2)."""
    if signing_time is None:
        return checker

    def check(certificate: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        status = checker(certificate, issuer)
        if (
            status.state is RevocationState.REVOKED
            and status.revoked_at is not None
            and status.revoked_at > signing_time
            and status.reason is not None
            and status.reason.value in KEY_INTACT_REASONS
        ):
            return RevocationStatus.good()
        return status

    return check


def _recipient_trust(
    entry: KeyEntry, signing_time: dt.datetime | None, at: dt.datetime
) -> list[Issue]:
    """The encryption certificate that opened the message: time, key usage (key
    encipherment for RSA, key agreement for EC), key size or curve."""
    certificate = entry.certificate
    label = "recipient encryption certificate"
    moments = (
        [("now", at)] if signing_time is None else [("at signing time", signing_time), ("now", at)]
    )
    issues = _time_issues(certificate, "recipient", label, moments)
    issues += _key_issues(certificate, "recipient", label)
    if not allows_encryption(certificate.public_key(), _key_usage(certificate)):
        issues.append(
            Issue(
                "key_usage",
                "recipient",
                f"The key usage of the {label} of {describe_subject(certificate)} does "
                f"not allow {encryption_usage_name(certificate.public_key())}.",
            )
        )
    return issues


def _same_holder(first: x509.Certificate, second: x509.Certificate) -> bool:
    """The same certificate, or the two certificates of one Belgian eID card (eID signs
    the outer layer with one key and the inner with the other): same issuer and the
    same subject serialNumber (the national register number)."""
    if first == second:
        return True
    serials = [
        [a.value for a in c.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
        for c in (first, second)
    ]
    return bool(serials[0]) and serials[0] == serials[1] and first.issuer == second.issuer


def _open_inner(
    plaintext: Plaintext,
    sender: CertificatePair,
    known: Sequence[CertificatePair],
    issues: list[Issue],
    allow_sha1: bool,
) -> tuple[CertificatePair | None, SignerCheck | None, bytes | None]:
    """Step 4: the inner SignedData. Appends data issues; content only if all is valid."""
    inner = (
        read_split_signed_data(
            plaintext.head, plaintext.content, plaintext.tail, "inner signed data"
        )
        if isinstance(plaintext, SplitPlaintext)
        else read_signed_data(plaintext, "inner signed data")
    )
    inner_info = _single_signer(inner, "inner signed data")
    if inner.content is None or inner.content_type != OID_DATA:
        raise der.malformed("inner signed data", "it carries no id-data content")
    signer = _find_signer(inner_info, (sender, *known, *inner.certificates))
    if signer is None:
        issues.append(
            Issue(
                "inner_signer_unknown",
                "inner",
                "Inner signature: the signer's certificate is neither the sender's nor "
                "in the message, so the signature cannot be checked.",
            )
        )
        return None, None, None
    check = check_signer(
        inner_info,
        inner.content_type,
        inner.content,
        signer,
        "inner signature",
        allow_sha1=allow_sha1,
    )
    issues += _layer_issues(check, "inner")
    return signer, check, None if issues else bytes(inner.content)


_LAYER_NAMES = {"outer": "Outer signature", "inner": "Inner signature"}


def _layer_issues(check: SignerCheck, where: str) -> list[Issue]:
    prefix = _LAYER_NAMES[where]
    return [Issue(code, where, f"{prefix}: {sentence}.") for code, sentence in check.issues]


def _sha1_issues(check: SignerCheck | None, where: str) -> list[Issue]:
    """A trust warning for a signature accepted with SHA-1 (allowed by the caller for the
    2014 platform's messages): SHA-1 is broken for collisions, so the signature proves
    less than a SHA-2 one."""
    if check is None or not check.sha1_used:
        return []
    return [
        Issue(
            "sha1_signature",
            where,
            f"{_LAYER_NAMES[where]}: it is made with SHA-1, which is accepted only for old "
            "messages; ask the sender to use SHA-256.",
        )
    ]


def unseal(
    data: bytes,
    keystores: Sequence[Keystore],
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    revocation: RevocationChecker | None = None,
    allow_sha1_certificates: bool = False,
    allow_sha1_signatures: bool = False,
    sender_certificates: Sequence[x509.Certificate] = (),
) -> Unsealed:
    """Open ``data`` with any key of ``keystores``; see the module docstring.

    ``at`` is "now" for the trust verdict (pass the clock's time). Certificates signed
    with SHA-1 are refused in paths unless ``allow_sha1_certificates`` (old material).
    Message signatures with a SHA-1 digest (the 2014 platform's format) are a data issue
    unless ``allow_sha1_signatures``; then they are a trust issue ``sha1_signature``.
    ``sender_certificates`` are certificates obtained out of band: a signer named (by
    subjectKeyIdentifier or issuer and serial, RFC 5652 5.3) but not carried in the
    message is looked up among them, and they may complete the sender's path. They are
    candidates, not anchors: trust still comes from ``anchors`` only.
    Raises EhcertError(MALFORMED) when the message is not a readable sealed message.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    if not all(isinstance(k, Keystore) for k in keystores):
        raise TypeError("keystores must contain Keystore objects")
    if not all(isinstance(a, x509.Certificate) for a in anchors):
        raise TypeError("anchors must contain x509.Certificate objects")
    if not all(isinstance(c, x509.Certificate) for c in sender_certificates):
        raise TypeError("sender_certificates must contain x509.Certificate objects")
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    if len(data) > MAX_MESSAGE_BYTES:
        raise EhcertError(
            ErrorKind.PAYLOAD_TOO_LARGE, "The message is larger than 2 GiB.", field="data"
        )
    try:
        return _unseal(
            memoryview(data),
            keystores=keystores,
            anchors=anchors,
            at=at.astimezone(dt.UTC),
            revocation=revocation,
            allow_sha1_certificates=allow_sha1_certificates,
            allow_sha1_signatures=allow_sha1_signatures,
            supplied=tuple(CertificatePair.from_certificate(c) for c in sender_certificates),
        )
    except (ValueError, TypeError, KeyError, OverflowError, UnsupportedAlgorithm) as error:
        # Lazily parsed parts (names, extensions) can still fail deep inside; the input
        # is at fault, never the caller.
        raise der.malformed(
            "message", f"a part of it is damaged ({str(error).splitlines()[0]})"
        ) from None


def _unseal(
    buffer: memoryview,
    *,
    keystores: Sequence[Keystore],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    revocation: RevocationChecker | None,
    allow_sha1_certificates: bool,
    allow_sha1_signatures: bool,
    supplied: tuple[CertificatePair, ...],
) -> Unsealed:
    data_issues: list[Issue] = []

    outer = read_signed_data(buffer, "message (outer signed data)")
    outer_info = _single_signer(outer, "message (outer signed data)")
    if outer.content is None or outer.content_type != OID_DATA:
        raise der.malformed("message (outer signed data)", "it carries no id-data content")
    known = (*outer.certificates, *supplied)
    sender = _find_signer(outer_info, known)
    if sender is None:
        raise der.malformed(
            "message (outer signed data)",
            "the signer's certificate is not in the message (give it with --sender-cert)"
            if not supplied
            else "the signer's certificate is neither in the message nor among those given",
        )
    outer_check = check_signer(
        outer_info,
        outer.content_type,
        outer.content,
        sender,
        "outer signature",
        allow_sha1=allow_sha1_signatures,
    )
    data_issues += _layer_issues(outer_check, "outer")
    envelope = read_enveloped_data(memoryview(outer.content), "encrypted part of the message")

    decryption = open_envelope(envelope, keystores, data_issues)
    opened = (
        None
        if decryption.plaintext is None or decryption.entry is None
        else (decryption.plaintext, decryption.entry)
    )

    inner_check: SignerCheck | None = None
    inner_signer: CertificatePair | None = None
    content: bytes | None = None
    if opened is not None:
        if envelope.content_type != OID_DATA:
            raise der.malformed("encrypted part of the message", "its content is not id-data")
        inner_signer, inner_check, content = _open_inner(
            opened[0], sender, known, data_issues, allow_sha1_signatures
        )
    inner_facts = (
        None if inner_signer is None or inner_check is None else _facts(inner_signer, inner_check)
    )
    if envelope.other_recipient_kinds and opened is None:
        kinds = ", ".join(sorted(set(envelope.other_recipient_kinds)))
        data_issues.append(
            Issue("unsupported_recipient", "envelope", f"Recipient types not supported: {kinds}.")
        )

    trust_issues = _sender_trust(
        sender,
        intermediates=[pair.certificate for pair in known],
        anchors=anchors,
        signing_time=outer_check.signing_time,
        at=at,
        revocation=revocation,
        allow_sha1=allow_sha1_certificates,
    )
    trust_issues += _sha1_issues(outer_check, "outer") + _sha1_issues(inner_check, "inner")
    same_signer: bool | None = None
    non_repudiation = False
    if inner_signer is not None:
        same_signer = _same_holder(inner_signer.certificate, sender.certificate)
        if not same_signer:
            trust_issues.append(
                Issue(
                    "signers_differ",
                    "inner_signer",
                    f"The inner signature is by {describe_subject(inner_signer.certificate)}"
                    f", not by the sender {describe_subject(sender.certificate)}.",
                )
            )
        usage = _key_usage(inner_signer.certificate)
        inner_valid = inner_facts is not None and inner_facts.signature_valid
        non_repudiation = bool(usage is not None and usage.content_commitment and inner_valid)
    if opened is not None:
        trust_issues += _recipient_trust(opened[1], outer_check.signing_time, at)

    report = UnsealReport(
        DataVerdict(
            valid=not data_issues,
            issues=tuple(data_issues),
            outer=_facts(sender, outer_check),
            inner=inner_facts,
            content_encryption=envelope.algorithm,
            opened_with=None if opened is None else opened[1].alias,
            opened_with_key=None
            if opened is None
            else describe_key(opened[1].certificate.public_key()),
            key_encryption=decryption.key_encryption,
        ),
        TrustVerdict(
            trusted=not trust_issues,
            issues=tuple(trust_issues),
            sender_subject=describe_subject(sender.certificate),
            recipient_subject=None if opened is None else describe_subject(opened[1].certificate),
            same_signer=same_signer,
            non_repudiation=non_repudiation,
            revocation_checked=revocation is not None,
        ),
        at,
    )
    return Unsealed(content, report)
