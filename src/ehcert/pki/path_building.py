"""Path building: every candidate path from a leaf to a trust anchor, bounded.

RFC 5280 section 6 validates a given path but leaves building it to the implementation
(RFC 4158 describes the strategies). Here issuers come from the supplied intermediates
and anchors by subject == issuer name (compared as RFC 5280 section 7.1 says) and,
when both carry them, AKI keyIdentifier == SKI (RFC 5280 section 4.2.1.1); every path
is explored depth first, within the bounds below so hostile input cannot make the
search explode. An intermediate that matches an
anchor (same DER, or same subject and public key) is not used as an intermediate: the
anchor ends the path there. :mod:`ehcert.pki.pathval` validates the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.pki.revocation import CERTIFICATE_PARSE_ERRORS, certificate_extension, names_match

MAX_PATH_CERTIFICATES = 6
"""Longest path tried, anchor included: leaf, up to four intermediates, anchor."""

MAX_CANDIDATE_PATHS = 16
"""How many complete candidate paths are collected at most."""

MAX_BUILD_STEPS = 512
"""How many partial paths are explored at most (bounds work on hostile input)."""


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate_der(cert: x509.Certificate) -> bytes:
    """The DER encoding of ``cert``: what identifies a certificate exactly."""
    return cert.public_bytes(serialization.Encoding.DER)


def _key_ids_compatible(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """AKI keyIdentifier == issuer SKI when both exist; otherwise names alone decide."""
    try:
        aki = certificate_extension(child, x509.AuthorityKeyIdentifier)
        ski = certificate_extension(issuer, x509.SubjectKeyIdentifier)
    except CERTIFICATE_PARSE_ERRORS:
        return True  # malformed extensions are reported by validation, with a sentence
    if aki is None or aki.key_identifier is None or ski is None:
        return True
    return aki.key_identifier == ski.digest


def _could_issue(issuer: x509.Certificate, child: x509.Certificate) -> bool:
    return names_match(issuer.subject, child.issuer) and _key_ids_compatible(child, issuer)


def _matching_anchor(
    cert: x509.Certificate, anchors: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    der = certificate_der(cert)
    for anchor in anchors:
        if certificate_der(anchor) == der or (
            names_match(anchor.subject, cert.subject) and _spki(anchor) == _spki(cert)
        ):
            return anchor
    return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A path that reaches ``anchor``, not yet validated."""

    path: tuple[x509.Certificate, ...]  # leaf first, anchor excluded
    anchor: x509.Certificate


def build_candidates(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
) -> tuple[list[Candidate], tuple[x509.Certificate, ...]]:
    """All paths from ``leaf`` to an anchor, and the longest dead end (for the message)."""
    found: list[Candidate] = []
    longest_dead_end: tuple[x509.Certificate, ...] = (leaf,)
    usable = [c for c in intermediates if _matching_anchor(c, anchors) is None]
    steps = 0

    def extend(path: tuple[x509.Certificate, ...]) -> None:
        nonlocal longest_dead_end, steps
        steps += 1
        if steps > MAX_BUILD_STEPS:
            return
        current = path[-1]
        for anchor in anchors:
            if len(found) < MAX_CANDIDATE_PATHS and _could_issue(anchor, current):
                found.append(Candidate(path, anchor))
        if len(path) + 1 >= MAX_PATH_CERTIFICATES:
            return
        path_ders = {certificate_der(c) for c in path}
        for candidate in usable:
            if len(found) >= MAX_CANDIDATE_PATHS:
                return
            if certificate_der(candidate) not in path_ders and _could_issue(candidate, current):
                longer = (*path, candidate)
                if len(longer) > len(longest_dead_end):
                    longest_dead_end = longer
                extend(longer)

    extend((leaf,))
    return found, longest_dead_end
