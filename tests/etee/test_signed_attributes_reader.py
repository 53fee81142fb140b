"""The plain-DER reader of signed attributes gives what asn1crypto gives, and steps aside
for anything it does not read (asn1crypto then reads it and names the damage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehcert.client.etee import seal
from ehcert.client.etee.cms import read_signed_data
from ehcert.pki import cms_signature

from .conftest import T_OWN

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"


def _signed(signer_info) -> bytes:
    if isinstance(signer_info, cms_signature.PlainSignerInfo):
        assert signer_info.signed_attributes is not None
        return signer_info.signed_attributes
    contents = signer_info["signed_attrs"].contents
    return bytes(cms_signature._AnyValues(contents=contents).dump())


def _by_asn1crypto(signed: bytes) -> dict[str, list[bytes]]:
    return {
        attribute["type"].dotted: [value.dump() for value in attribute["values"]]
        for attribute in cms_signature._Attributes.load(signed)
    }


def _signer_infos():
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        try:
            view = read_signed_data(memoryview(path.read_bytes()), "fixture")
        except Exception:  # not a SignedData: certificates, keystores
            continue
        for info in view.signer_infos:
            if isinstance(info, cms_signature.PlainSignerInfo):
                if info.signed_attributes is not None:
                    yield info
            elif info["signed_attrs"].contents:
                yield info


def test_field_messages_read_the_same(own_pki) -> None:
    message = seal(
        b"x",
        sender=own_pki.alice.authentication,
        recipients=[own_pki.bob.encryption.certificate],
        signing_time=T_OWN,
    )
    infos = [*_signer_infos(), *read_signed_data(memoryview(message), "ours").signer_infos]
    assert len(infos) > 10
    for info in infos:
        signed = _signed(info)
        plain = cms_signature._plain_attribute_values(signed)
        assert plain is None or plain == _by_asn1crypto(signed)
    assert cms_signature._plain_attribute_values(_signed(infos[-1])) is not None


@pytest.mark.parametrize(
    "signed",
    [
        b"\x31\x80\x00\x00",  # indefinite length
        b"\x31\x05\x30\x03\x06\x01\x2a",  # an attribute without values
        b"\x31\x0a" + b"\x30\x03\x06\x01\x2a" * 2,  # twice, and no value set
        b"\x31\x06\x30\x04\x06\x00\x31\x00",  # an empty OID
        b"\x31\x04\x30\x09\x06\x01",  # lengths past the end
    ],
)
def test_unusual_encodings_are_left_to_asn1crypto(signed) -> None:
    assert cms_signature._plain_attribute_values(signed) is None
