"""The KeyAgreeRecipientInfo written directly (RFC 5652 6.2.2, RFC 5753 3.1.1) is byte for
byte what asn1crypto builds from the same parts."""

from __future__ import annotations

from asn1crypto import cms as asn1_cms
from asn1crypto import core
from asn1crypto import keys as asn1_keys
from hypothesis import given
from hypothesis import strategies as st

from ehcert.client.etee import key_agreement
from ehcert.client.etee.key_agreement import WRAPS, key_agreement_der

RID = asn1_cms.IssuerAndSerialNumber(
    {"issuer": asn1_cms.Name.build({"common_name": "issuing CA"}), "serial_number": 12345}
).dump()


def _by_asn1crypto(scheme: str, wrap: str, rid: bytes, point: bytes, encrypted: bytes) -> bytes:
    wrap_der = key_agreement._AlgorithmIdentifier({"algorithm": wrap}).dump()
    originator = asn1_cms.OriginatorIdentifierOrKey(
        name="originator_key",
        value=asn1_keys.PublicKeyInfo(
            {"algorithm": asn1_keys.PublicKeyAlgorithm({"algorithm": "ec"}), "public_key": point}
        ),
    )
    info = key_agreement._KeyAgreeRecipientInfo(
        {
            "version": "v3",
            "originator": originator,
            "key_encryption_algorithm": {
                "algorithm": scheme,
                "parameters": core.Any.load(wrap_der),
            },
            "recipient_encrypted_keys": [
                {
                    "rid": asn1_cms.KeyAgreementRecipientIdentifier(
                        name="issuer_and_serial_number",
                        value=asn1_cms.IssuerAndSerialNumber.load(rid),
                    ),
                    "encrypted_key": encrypted,
                }
            ],
        }
    )
    encoded: bytes = info.dump()
    return b"\xa1" + encoded[1:]


@given(
    st.sampled_from(sorted(key_agreement.KDF_SCHEMES)),
    st.sampled_from(sorted(WRAPS)),
    st.sampled_from([RID, asn1_cms.IssuerAndSerialNumber.load(RID).dump()]),
    st.binary(min_size=1, max_size=300),
    st.binary(min_size=0, max_size=300),
)
def test_written_as_asn1crypto_builds_it(scheme, wrap, rid, point, encrypted) -> None:
    wrap_der = key_agreement._wrap_identifier(wrap)
    assert key_agreement_der(scheme, wrap_der, rid, point, encrypted) == _by_asn1crypto(
        scheme, wrap, rid, point, encrypted
    )
