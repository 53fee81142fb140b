"""Write the seed corpora of ``fuzz/corpus/<target>/`` (run once; the result is kept).

Seeds are real files (the interop keystores, ETKs and messages of
``tests/fixtures/etee``, the subjects of their certificates) and valid inputs generated
here with the product's own builders (CSRs, JWS requests, OCSP requests, SAML assertions,
CSV exports), plus a few near misses. ``fuzz/context/saml`` receives the certificates the
SAML seeds were made for. Usage: ``.venv/bin/python fuzz/make_corpus.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

from asn1crypto import algos
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from fuzz_context import INTEROP, _certificate
from fuzzing import CONTEXT_DIR, CORPUS_DIR, TARGETS
from lxml import etree

from ehcert.pki.jws import create_jws
from ehcert.pki.keystore import dump_keystore, load_keystore
from ehcert.pki.signer import PrivateKeySigner
from ehcert.sts.assertion import AssertionContent, build_assertion
from ehcert.sts.attributes import Designator, GrantedAttribute
from ehcert.sts.xmldsig import sign_enveloped

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
T_TOKEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _write(target: str, name: str, data: bytes) -> None:
    (CORPUS_DIR / target / name).write_bytes(data)


def _self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .sign(key, hashes.SHA256())
    )


def identifiers() -> None:
    seeds = [
        "79021802145",
        "00010100165",
        "71000436",
        "CBE=0123456749",
        "EHP=1990001916",
        "NIHII-HOSPITAL=71000436",
        "SSIN=79021802145",
        "EHP=1990001916,VITALINKGATEWAY",
        " nihii-pharmacy = 12345678 ",
        "UNKNOWN=1",
        "=",
        "VITALINK_GATEWAY-2",
        "1234567890123456789012345678901",
    ]
    for index, seed in enumerate(seeds):
        _write("identifiers", f"seed-{index:02d}", seed.encode())
    _write("identifiers", "lone-surrogate", b"7902180214\xed\xa0\x80")


def names() -> None:
    seeds = [
        "SSIN=79021802145\0JAN PEETERS\0eHealth-platform Belgium\0",
        "NIHII-HOSPITAL=71000436, APP_1\0APP_1\0NIHII-HOSPITAL=71000436\0AZ SINT-JAN\0"
        "eHealth-platform Belgium",
        "Jan Peeters\0eHealth-platform Belgium\0SSIN=79021802145\0Zoë  Lefèvre",
        "CBE=0123456749\0CBE=0123456749\0VZW Ørsted Œuvre\0VITALINK",
    ]
    for index, seed in enumerate(seeds):
        _write("names", f"seed-{index:02d}", seed.encode())
    for path in sorted((INTEROP / "imports").iterdir()):
        subject = _certificate(path).subject
        values = [str(attribute.value) for attribute in subject]
        _write("names", f"subject-{path.stem[:40].replace(' ', '_')}", "\0".join(values).encode())


def _csr(
    key: object, subject: x509.Name, algorithm: hashes.HashAlgorithm
) -> x509.CertificateSigningRequest:
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, algorithm)  # type: ignore[arg-type]


def csrs() -> None:
    empty = x509.Name([])
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    good = _csr(rsa_key, empty, hashes.SHA256())
    _write("csr", "rsa2048.der", good.public_bytes(serialization.Encoding.DER))
    _write("csr", "rsa2048.pem", good.public_bytes(serialization.Encoding.PEM))
    named = _csr(
        rsa_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]), hashes.SHA256()
    )
    _write("csr", "with-subject.der", named.public_bytes(serialization.Encoding.DER))
    _write(
        "csr",
        "rsa1024.der",
        _csr(small, empty, hashes.SHA256()).public_bytes(serialization.Encoding.DER),
    )
    _write(
        "csr",
        "ec-p256.der",
        _csr(ec_key, empty, hashes.SHA256()).public_bytes(serialization.Encoding.DER),
    )


def jws() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _self_signed(key, "JWS signer")
    payloads = [
        {"csr": "MIIB", "institution": None, "application_id": None},
        {"serial": "0a1b2c", "reason": "keyCompromise"},
        {},
    ]
    for index, payload in enumerate(payloads):
        for alg in ("RS256", "PS256"):
            pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
            pad = pss if alg == "PS256" else padding.PKCS1v15()
            document = create_jws(
                json.dumps(payload).encode(),
                url="https://platform.ehcert.test/v1/certificates",
                nonce="bm9uY2Utbm9uY2Utbm9uY2U",
                chain=[certificate],
                sign=lambda data, pad=pad: key.sign(data, pad, hashes.SHA256()),
                alg=alg,  # type: ignore[arg-type]
            )
            _write("jws", f"{alg.lower()}-{index}.json", json.dumps(document).encode())
    _write("jws", "not-an-object.json", b'["protected","payload","signature"]')


def _ocsp_request(digest: str, entries: int, nonces: int, serial: int) -> bytes:
    size = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}.get(digest, 16)
    cert_id = asn1_ocsp.CertId(
        {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
            "issuer_name_hash": b"\xa1" * size,
            "issuer_key_hash": b"\xa2" * size,
            "serial_number": serial,
        }
    )
    extensions = [
        {"extn_id": "nonce", "critical": False, "extn_value": b"n" * 16} for _ in range(nonces)
    ]
    tbs = {"request_list": [{"req_cert": cert_id} for _ in range(entries)]}
    if extensions:
        tbs["request_extensions"] = extensions
    return asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def ocsp() -> None:
    cases = [
        ("sha1", 1, 0, 4660),
        ("sha1", 1, 1, 1),
        ("sha256", 1, 1, 2**100),
        ("sha384", 1, 0, 7),
        ("sha512", 1, 0, 7),
        ("md5", 1, 0, 7),
        ("sha1", 0, 0, 1),
        ("sha1", 2, 0, 1),
        ("sha1", 1, 2, 1),
        ("sha1", 1, 0, -5),
        ("sha3_256", 1, 0, 9),
    ]
    for digest, entries, nonces, serial in cases:
        data = _ocsp_request(digest, entries, nonces, serial)
        _write("ocsp", f"{digest}-{entries}e-{nonces}n-{hashlib.sha1(data).hexdigest()[:8]}", data)
    _write("ocsp", "empty-sequence", b"0\x00")


def etks() -> None:
    for path in sorted(INTEROP.glob("*/*.etk")):
        _write("etk", path.name, path.read_bytes())


def messages() -> None:
    for path in sorted((INTEROP / "msg").glob("*.msg")):
        if path.stat().st_size <= 32 * 1024:
            _write("unseal", path.name, path.read_bytes())


def saml() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sts = _self_signed(key, "STS")
    holder = _self_signed(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), "SSIN=79021802145"
    )
    context = CONTEXT_DIR / "saml"
    context.mkdir(parents=True, exist_ok=True)
    (context / "sts.pem").write_bytes(sts.public_bytes(serialization.Encoding.PEM))
    (context / "holder.pem").write_bytes(holder.public_bytes(serialization.Encoding.PEM))
    ssin = Designator(
        "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin",
        "urn:be:fgov:identification-namespace",
    )
    doctor = Designator(
        "urn:be:fgov:person:ssin:doctor:boolean", "urn:be:fgov:certified-namespace:ehealth"
    )
    for index, attributes in enumerate(
        ([], [GrantedAttribute(ssin, "79021802145"), GrantedAttribute(doctor, True)])
    ):
        content = AssertionContent(
            assertion_id=f"_seed{index}",
            issuer="urn:be:fgov:ehealth:sts",
            issue_instant=T_TOKEN,
            not_before=T_TOKEN,
            not_on_or_after=T_TOKEN + dt.timedelta(hours=24),
            holder_certificate=holder,
            attributes=attributes,
        )
        xml = sign_enveloped(
            etree.tostring(build_assertion(content)),
            id_attribute="AssertionID",
            signer=PrivateKeySigner(key),
            certificate=sts,
            inclusive_prefixes=("xs",),
        )
        _write("saml", f"assertion-{index}.xml", xml)
    _write("saml", "entity.xml", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')


def keystores() -> None:
    for path in sorted(INTEROP.glob("*/*.p12")):
        _write("pkcs12", f"{path.parent.name}-{path.name}", path.read_bytes())
    keystore = load_keystore((INTEROP / "alice" / "alice_auth.p12").read_bytes(), "test")
    _write("pkcs12", "modern-pbes2.p12", dump_keystore(keystore, "test", iterations=2048))
    _write(
        "pkcs12",
        "legacy-3des.p12",
        dump_keystore(keystore, "test", iterations=2048, legacy_compatible=True),
    )


def csv_rows() -> None:
    header = "ssin,nihii,profession,first_name,last_name"
    seeds = {
        "minimal.csv": f"{header}\n79021802145,10000000001,doctor,Jan,Peeters\n",
        "status.csv": f"\ufeff{header},status\n79021802145,,nurse,Zoë,Lefèvre,withdrawn\n"
        '00010100165,10000000002,pharmacist,"An, Marie",Dubois,\n',
        "duplicates.csv": f"{header}\n79021802145,1,doctor,A,B\n79021802145,1,doctor,A,B\n\n",
        "bad-quote.csv": f'{header}\n"7902180,x,y\n',
        "bad-header.csv": "ssin;nihii\n",
    }
    for name, text in seeds.items():
        _write("csv_rows", name, text.encode())


def main() -> None:
    for target in TARGETS:
        shutil.rmtree(CORPUS_DIR / target, ignore_errors=True)
        (CORPUS_DIR / target).mkdir(parents=True)
    identifiers()
    names()
    csrs()
    jws()
    ocsp()
    etks()
    messages()
    saml()
    keystores()
    csv_rows()


if __name__ == "__main__":
    main()
