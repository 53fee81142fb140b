"""The indexed traversal (``pki.lint_traversal``) finds exactly what pkilint's own does.

It leaves out only the ``match`` calls whose answer is known from where a node is and
what type it has, so the findings must be pkilint's, node for node, on clean and on
defective documents alike, and a second document of the same shape (answers remembered)
must be judged as freshly as the first.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pkilint import loader

from ehcert.pki import lint, lint_traversal, signing

DER = serialization.Encoding.DER


def _findings(results: list[object]) -> list[tuple[str, str, str]]:
    return sorted(
        (str(r.validator), r.node.path, repr(r.finding_descriptions))  # type: ignore[attr-defined]
        for r in results
    )


def _both(container: object, load: object, der: bytes) -> tuple[list[object], list[object]]:
    indexed = lint_traversal.IndexedValidator(container)
    reference = container.validate(load(der).root)  # type: ignore[attr-defined, operator]
    first = indexed.validate(load(der).root)  # type: ignore[operator]
    again = indexed.validate(load(der).root)  # type: ignore[operator]
    assert _findings(first) == _findings(again)
    return reference, first


@pytest.mark.parametrize("hierarchy", ["file_signers"], indirect=True)
def test_certificates_of_every_profile_get_pkilints_findings(hierarchy) -> None:
    h = hierarchy
    for cert, profile in (
        (h.root, lint.LintProfile.ROOT_CA),
        (h.issuing, lint.LintProfile.ISSUING_CA),
        (h.end_entity, lint.LintProfile.END_ENTITY),
        (h.ocsp_signer, lint.LintProfile.OCSP_SIGNER),
        (h.end_entity, lint.LintProfile.OCSP_SIGNER),  # the wrong profile: findings
    ):
        container = lint._certificate_container(profile)
        reference, indexed = _both(container, loader.load_der_certificate, cert.public_bytes(DER))
        assert _findings(indexed) == _findings(reference)
        assert indexed, "pkilint reports at least its informational findings"


def test_a_defective_certificate_gets_the_same_blocking_findings(file_signers, profiles) -> None:
    builder = profiles.end_entity(
        file_signers.end_entity_key.public_key(),
        file_signers.issuing.public_key(),
        omit=frozenset({x509.AuthorityKeyIdentifier}),
    )
    der = builder.sign(file_signers.end_entity_key, hashes.SHA256()).public_bytes(DER)
    container = lint._certificate_container(lint.LintProfile.END_ENTITY)
    reference, indexed = _both(container, loader.load_der_certificate, der)
    assert _findings(indexed) == _findings(reference)
    codes = [f.code for f in lint.blocking(lint.lint_certificate(der, lint.LintProfile.END_ENTITY))]
    assert codes == ["pkix.authority_key_identifier_extension_absent"]


@pytest.mark.parametrize("hierarchy", ["file_signers"], indirect=True)
def test_crls_and_ocsp_responses_get_pkilints_findings(hierarchy, profiles) -> None:
    h = hierarchy
    crl = signing.sign_crl(profiles.crl(h, h.end_entity.serial_number), h.signers.issuing)
    crl_container = lint._crl_validator()._root
    reference, indexed = _both(crl_container, loader.load_der_crl, crl.public_bytes(DER))
    assert _findings(indexed) == _findings(reference)

    response = signing.sign_ocsp_response(
        profiles.ocsp(h, ocsp.OCSPResponderEncoding.HASH), h.signers.ocsp
    )
    ocsp_container = lint._ocsp_validator()._root
    reference, indexed = _both(
        ocsp_container, loader.load_der_ocsp_response, response.public_bytes(DER)
    )
    assert _findings(indexed) == _findings(reference)


def test_only_plain_containers_are_indexed() -> None:
    with pytest.raises(TypeError):
        lint_traversal.IndexedValidator(object())


def test_remembered_answers_are_bounded(file_signers, profiles, monkeypatch) -> None:
    monkeypatch.setattr(lint_traversal, "MAX_REMEMBERED", 5)
    der = (
        profiles.end_entity(
            file_signers.end_entity_key.public_key(), file_signers.issuing.public_key()
        )
        .sign(file_signers.end_entity_key, hashes.SHA256())
        .public_bytes(DER)
    )
    container = lint._certificate_container(lint.LintProfile.END_ENTITY)
    indexed = lint_traversal.IndexedValidator(container)
    found = indexed.validate(loader.load_der_certificate(der).root)
    assert len(indexed._candidates) == 5
    assert _findings(found) == _findings(container.validate(loader.load_der_certificate(der).root))
