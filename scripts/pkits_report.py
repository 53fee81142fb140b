"""Run NIST PKITS through ehcert's path validator and through pyhanko-certvalidator.

PKITS (the NIST Public Key Interoperability Test Suite, RFC 5280 path validation) ships
in the ``cryptography-vectors`` package as ``x509/PKITS_data``: ``certs/`` and
``crls/`` in DER, one trust anchor (``TrustAnchorRootCertificate.crt``). Each test's end
certificate is named after the test, ``Valid...TestNEE.crt`` or ``Invalid...TestNEE.crt``,
which is its expected result. Both validators get, for every case, the same inputs: the
end certificate, every other CA certificate of the suite as candidate intermediates, the
anchor, every CRL, revocation required, at one moment inside every validity period.
The policy tests without Valid/Invalid in their file names (they depend on the
initial policy set of each run) are not cases.

Sections of PKITS that eHealth does not use are run and counted, but reported as out of
scope (:data:`OUT_OF_SCOPE`): the reason is in the table. ``ehcert.pki.pathval`` refuses
a critical extension it does not process, so such a chain is never trusted by accident.

Usage: ``python scripts/pkits_report.py [--write docs/conformance.md]``; the test
``tests/pki/test_pkits.py`` recomputes the counts and holds them from regressing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ehcert.core.errors import EhcertError
from ehcert.pki.pathval import validate_path
from ehcert.pki.revocation import crl_revocation_checker, names_match

MOMENT = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
ANCHOR = "TrustAnchorRootCertificate.crt"
DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "conformance.md"

# (pattern on the test name, PKITS section, why eHealth does not need it)
OUT_OF_SCOPE: tuple[tuple[str, str, str], ...] = (
    (
        r"DSA",
        "4.1 (DSA)",
        "DSA keys: eHealth and eID certificates are RSA or EC P-256/P-384 (core.keys).",
    ),
    (
        r"[Pp]olic|Mapping|UserNotice|CPSPointer",
        "4.8-4.12",
        "certificate policies, policy mappings, requireExplicitPolicy, inhibitPolicyMapping "
        "and inhibitAnyPolicy: eHealth's relying parties trust fixed CA hierarchies, not "
        "policy sets; a critical policy extension makes the chain untrusted.",
    ),
    (
        r"nameConstraints",
        "4.13",
        "name constraints: no eHealth or eID CA carries them; a critical one makes the "
        "chain untrusted.",
    ),
    (
        r"distributionPoint|onlyContains|onlySomeReasons|[Ii]ndirectCRL|cRLIssuer",
        "4.14",
        "distribution points, partitioned and indirect CRLs: the platform and the eID CAs "
        "publish complete CRLs signed by the issuer itself (and OCSP).",
    ),
    (
        r"deltaCRL",
        "4.15",
        "delta CRLs: not published by eHealth or the eID CAs; ehcert reads complete CRLs "
        "only, so a revocation listed on a delta CRL alone is not seen (InvaliddeltaCRLTest4).",
    ),
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # the test name, e.g. "InvalidCASignatureTest2"
    expected_valid: bool
    section: str | None  # out-of-scope section, None when applicable
    ours: str  # "pass" or "fail"
    peer: str
    ours_detail: str
    peer_detail: str


def pkits_directory() -> Path:
    import cryptography_vectors

    return Path(cryptography_vectors.__file__).parent / "x509" / "PKITS_data"


def _scope(name: str) -> str | None:
    for pattern, section, _ in OUT_OF_SCOPE:
        if re.search(pattern, name):
            return section
    return None


def _ours(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    anchor: x509.Certificate,
    crls: list[x509.CertificateRevocationList],
) -> tuple[bool, str]:
    try:
        validate_path(
            leaf,
            intermediates,
            [anchor],
            at=MOMENT,
            purpose=None,
            revocation=crl_revocation_checker(crls, at=MOMENT),
            allow_sha1_signatures=True,  # PKITS is signed with SHA-1
        )
    except EhcertError as refusal:
        return False, refusal.detail
    except Exception as error:  # a crash counts as a failure either way
        return False, f"CRASH {type(error).__name__}: {error}"
    return True, ""


def _peer(
    leaf_der: bytes, others: list[bytes], anchor_der: bytes, crls: list[bytes]
) -> tuple[bool, str]:
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext

    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(anchor_der)],
        other_certs=[asn1_x509.Certificate.load(der) for der in others],
        crls=crls,
        moment=MOMENT,
        revocation_mode="require",
        weak_hash_algos=set(),
        allow_fetching=False,
    )
    validator = CertificateValidator(
        asn1_x509.Certificate.load(leaf_der), validation_context=context
    )
    try:
        asyncio.run(validator.async_validate_path())
    except Exception as refusal:
        return False, f"{type(refusal).__name__}: {refusal}"
    return True, ""


def _load(der: bytes) -> x509.Certificate | None:
    """A certificate, or None when cryptography cannot parse it (DSA parameter
    inheritance, PKITS 4.1.5, leaves the parameters out)."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def _related(
    leaf: x509.Certificate,
    pool: dict[str, tuple[bytes, x509.Certificate]],
    crls: list[tuple[bytes, x509.CertificateRevocationList]],
) -> tuple[list[str], list[int]]:
    """The pool's certificates and the CRLs that name-chaining from ``leaf`` can reach.

    Both validators get the same, smaller, inputs: every CA certificate whose subject is
    the issuer of the leaf or of such a certificate (transitively), and every CRL issued
    under one of those names. Nothing that could belong to a path is left out.
    """
    names = [leaf.issuer]

    def known(name: x509.Name) -> bool:
        return any(names_match(name, other) for other in names)

    changed = True
    while changed:
        changed = False
        for _, certificate in pool.values():
            if known(certificate.subject) and not known(certificate.issuer):
                names.append(certificate.issuer)
                changed = True
    certificates = [n for n, (_, c) in pool.items() if known(c.subject)]
    crl_indexes = [i for i, (_, crl) in enumerate(crls) if known(crl.issuer)]
    return certificates, crl_indexes


def run(only: str | None = None) -> list[Case]:
    """Every PKITS case through both validators (``only``: a regular expression on names)."""
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    directory = pkits_directory()
    ders = {path.name: path.read_bytes() for path in sorted((directory / "certs").glob("*.crt"))}
    crls = [
        (path.read_bytes(), x509.load_der_x509_crl(path.read_bytes()))
        for path in sorted((directory / "crls").glob("*.crl"))
    ]
    anchor = x509.load_der_x509_certificate(ders[ANCHOR])
    pool = {
        name: (der, certificate)
        for name, der in ders.items()
        if name != ANCHOR
        and not name.endswith("EE.crt")
        and (certificate := _load(der)) is not None
    }
    cases = []
    for file_name, der in ders.items():
        match = re.fullmatch(r"((Valid|Invalid)\w*?Test\d+)EE\.crt", file_name)
        if match is None or (only and not re.search(only, match.group(1))):
            continue
        name, expected = match.group(1), match.group(2) == "Valid"
        leaf = _load(der)
        if leaf is None:
            ours_ok, ours_detail = False, "the end certificate cannot be parsed"
            others, crl_indexes = list(pool), list(range(len(crls)))
        else:
            others, crl_indexes = _related(leaf, pool, crls)
            ours_ok, ours_detail = _ours(
                leaf, [pool[n][1] for n in others], anchor, [crls[i][1] for i in crl_indexes]
            )
        peer_ok, peer_detail = _peer(
            der, [pool[n][0] for n in others], ders[ANCHOR], [crls[i][0] for i in crl_indexes]
        )
        cases.append(
            Case(
                name,
                expected,
                _scope(name),
                "pass" if ours_ok == expected else "fail",
                "pass" if peer_ok == expected else "fail",
                ours_detail,
                peer_detail,
            )
        )
    return sorted(cases, key=lambda case: case.name)


@dataclass(frozen=True, slots=True)
class Counts:
    applicable: int
    ours_pass: int
    peer_pass: int
    out_of_scope: int
    ours_pass_all: int
    peer_pass_all: int


def counts(cases: list[Case]) -> Counts:
    applicable = [c for c in cases if c.section is None]
    return Counts(
        applicable=len(applicable),
        ours_pass=sum(c.ours == "pass" for c in applicable),
        peer_pass=sum(c.peer == "pass" for c in applicable),
        out_of_scope=len(cases) - len(applicable),
        ours_pass_all=sum(c.ours == "pass" for c in cases),
        peer_pass_all=sum(c.peer == "pass" for c in cases),
    )


def recorded_counts(text: str) -> Counts:
    """The counts written in docs/conformance.md (its machine-readable comment line)."""
    match = re.search(r"<!-- pkits-counts: (.*?) -->", text)
    if match is None:
        raise ValueError("docs/conformance.md has no pkits-counts line")
    values = dict(item.split("=") for item in match.group(1).split())
    return Counts(**{key: int(value) for key, value in values.items()})


def markdown(cases: list[Case]) -> str:
    total = counts(cases)
    applicable = [c for c in cases if c.section is None]
    lines = [
        "# Conformance: NIST PKITS path validation",
        "",
        "Generated by `scripts/pkits_report.py` (do not edit by hand); "
        "`tests/pki/test_pkits.py` recomputes these counts in `make test` and fails if ours "
        "fall below them or below the peer's.",
        "",
        "`ehcert.pki.pathval.validate_path` (with `pki.revocation.crl_revocation_checker`) "
        "validates eID chains, ETKs and sealed-message signers. It runs every case of PKITS "
        "(RFC 5280 path validation, from the `cryptography-vectors` package) next to "
        "`pyhanko-certvalidator` on the same inputs: the end certificate, every CA "
        "certificate of the suite as candidates, the trust anchor, every CRL, revocation "
        f"required, at {MOMENT.date().isoformat()}. A case passes when the verdict matches "
        "its file name (`Valid...` or `Invalid...`).",
        "",
        "| cases | ehcert pass | ehcert fail | pyhanko-certvalidator pass "
        "| pyhanko-certvalidator fail | skipped |",
        "|---|---|---|---|---|---|",
        f"| applicable ({total.applicable}) | {total.ours_pass} | "
        f"{total.applicable - total.ours_pass} | {total.peer_pass} | "
        f"{total.applicable - total.peer_pass} | 0 |",
        f"| out of scope ({total.out_of_scope}, run but not counted) | "
        f"{total.ours_pass_all - total.ours_pass} | "
        f"{total.out_of_scope - (total.ours_pass_all - total.ours_pass)} | "
        f"{total.peer_pass_all - total.peer_pass} | "
        f"{total.out_of_scope - (total.peer_pass_all - total.peer_pass)} | {total.out_of_scope} |",
        "",
        f"ehcert passes {total.ours_pass} of {total.applicable} applicable cases "
        f"({100 * total.ours_pass / max(total.applicable, 1):.1f} %).",
        "",
        "<!-- pkits-counts: "
        + " ".join(f"{key}={getattr(total, key)}" for key in Counts.__slots__)
        + " -->",
        "",
        "## Out of scope for eHealth",
        "",
        "| PKITS section | cases | why |",
        "|---|---|---|",
    ]
    for _, section, reason in OUT_OF_SCOPE:
        number = sum(c.section == section for c in cases)
        lines.append(f"| {section} | {number} | {reason} |")
    accepted = [c for c in cases if c.section and not c.expected_valid and c.ours == "fail"]
    lines += [
        "",
        "Out-of-scope cases that PKITS says are invalid but ehcert accepts (each a feature "
        "above that eHealth does not use, so its absence lets the path through):",
        "",
    ]
    lines += [f"- {c.name} ({c.section})" for c in accepted] or ["- none"]
    lines += ["", "## Applicable cases where a validator disagrees with PKITS", ""]
    disagreements = [c for c in applicable if "fail" in (c.ours, c.peer)]
    if not disagreements:
        lines.append("None.")
    else:
        lines += ["| case | ehcert | pyhanko-certvalidator |", "|---|---|---|"]
        for case in disagreements:
            ours = case.ours if case.ours == "pass" else f"fail: {case.ours_detail[:160]}"
            peer = case.peer if case.peer == "pass" else f"fail: {case.peer_detail[:160]}"
            lines.append(f"| {case.name} | {ours.replace('|', '/')} | {peer.replace('|', '/')} |")
    lines += [
        "",
        "## Every applicable case",
        "",
        "| case | expected | ehcert | pyhanko-certvalidator |",
        "|---|---|---|---|",
    ]
    for case in applicable:
        expected = "valid" if case.expected_valid else "invalid"
        lines.append(f"| {case.name} | {expected} | {case.ours} | {case.peer} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT}")
    parser.add_argument("--only", help="a regular expression on test names")
    parser.add_argument("--details", action="store_true", help="print each failure")
    arguments = parser.parse_args()
    cases = run(arguments.only)
    if arguments.details:
        for case in cases:
            if "fail" in (case.ours, case.peer):
                print(f"{case.name} [{case.section or 'applicable'}]")
                print(f"  ours={case.ours} {case.ours_detail[:200]!r}")
                print(f"  peer={case.peer} {case.peer_detail[:200]!r}")
    total = counts(cases)
    print(total)
    if arguments.write:
        DOCUMENT.write_text(markdown(cases), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
