"""The key policy of the product, in one place: which public keys are accepted and issued.

Every place that judges a key (a CSR, a keystore read, an ETK, a sealed message's
signer and recipient, a JWS ``x5c`` certificate, the linter, the CA's own keys) asks
this module, so the rule and its sentence are the same everywhere.

- Accepted (verifying what others made): RSA of at least 2048 bits (eHealth certificate
  policy; NIST SP 800-57 part 1 table 2: 112-bit security until 2030).
- Issued and generated (what the platform certifies and the client creates): RSA of
  2048, 3072 or 4096 bits, 2048 by default.
- Platform keys (CA, OCSP, STS, ETK depot signers): RSA of 2048, 3072 or 4096 bits.
- EC keys: P-256 and P-384 (cryptography's names ``secp256r1`` and ``secp384r1``), the
  curves of today's Belgian eID cards (applet 1.8, P-384) and of eHealth's second
  generation certificates; NIST SP 800-57 part 1 table 2 (128 and 192-bit security).
  P-192 and P-224 fall short of the eHealth policy's 112-bit floor or are not used by
  any eHealth party; P-521 is used by none and is refused.

- Key types (``rsa-2048`` ... ``ec-p384``): what a request, a test eID or a CA hierarchy
  is generated with. A holder's request chooses among :data:`REQUEST_KEY_TYPES`; the CA
  among :data:`PLATFORM_KEY_TYPES`. An EC key is never given in explicit curve parameters
  (RFC 5480 section 2.1.1: ``namedCurve`` only, "specifiedCurve ... MUST NOT be used"),
  and its point must lie on its curve (RFC 5480 section 2.2; SEC 1 section 3.2.2.1).

This module reads a key as three facts (algorithm, size, curve) so that ``core`` needs
no cryptography library; ``ehcert.pki.public_keys`` reads them from a key object.
"""

from __future__ import annotations

from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind

_CURVE_LABELS = {
    "secp192r1": "P-192",
    "secp224r1": "P-224",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
}


def curve_label(curve: str) -> str:
    """``P-384`` for ``secp384r1``; another curve keeps its own name."""
    return _CURVE_LABELS.get(curve, curve)


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Key algorithms and sizes. ``ec_curves`` empty: EC keys are refused."""

    rsa_minimum_bits: int
    rsa_issued_sizes: tuple[int, ...]
    rsa_default_bits: int
    platform_rsa_sizes: tuple[int, ...]
    ec_curves: frozenset[str]

    def accepted_text(self) -> str:
        """``RSA keys of at least 2048 bits`` (and the EC curves when there are some)."""
        text = f"RSA keys of at least {self.rsa_minimum_bits} bits"
        if self.ec_curves:
            curves = sorted(_CURVE_LABELS.get(c, c) for c in self.ec_curves)
            text += f" and EC keys on {_either(curves)}"
        return text

    def issued_sizes_text(self) -> str:
        """``2048, 3072 or 4096``."""
        return _either([str(size) for size in self.rsa_issued_sizes])


KEY_POLICY = KeyPolicy(
    rsa_minimum_bits=2048,
    rsa_issued_sizes=(2048, 3072, 4096),
    rsa_default_bits=2048,
    platform_rsa_sizes=(2048, 3072, 4096),
    ec_curves=frozenset({"secp256r1", "secp384r1"}),
)


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """What the policy needs to know about a public key: ``RSA`` or ``EC`` (or another
    name, always refused), its size in bits and, for EC, the curve."""

    algorithm: str
    bits: int
    curve: str | None = None


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """Why a key is refused: ``key_algorithm`` or ``key_size``, and one sentence."""

    code: str
    detail: str


def key_problem(facts: KeyFacts, what: str, policy: KeyPolicy = KEY_POLICY) -> KeyProblem | None:
    """None when ``facts`` describe an accepted key, else why not; ``what`` names the key
    in the sentence ("The CSR key is RSA 1024 bits; the minimum is 2048 bits.")."""
    if facts.algorithm == "RSA":
        if facts.bits < policy.rsa_minimum_bits:
            return KeyProblem(
                "key_size",
                f"The {what} is RSA {facts.bits} bits; the minimum is "
                f"{policy.rsa_minimum_bits} bits.",
            )
        return None
    if facts.algorithm == "EC" and facts.curve in policy.ec_curves:
        return None
    kind = facts.algorithm
    if facts.curve is not None:
        kind += f" ({_CURVE_LABELS.get(facts.curve, facts.curve)})"
    return KeyProblem(
        "key_algorithm",
        f"The {what} is not an accepted key ({kind}); the platform accepts only "
        f"{policy.accepted_text()}.",
    )


def check_key(facts: KeyFacts, what: str, *, field: str | None = None) -> None:
    """Refuse a key outside the policy: EhcertError(BAD_KEY) with :func:`key_problem`'s
    sentence."""
    problem = key_problem(facts, what)
    if problem is not None:
        raise EhcertError(ErrorKind.BAD_KEY, problem.detail, field=field)


def check_issued_key_size(bits: int, what: str = "requested key") -> None:
    """Refuse an RSA size the platform does not issue (before a slow key generation)."""
    check_key(KeyFacts("RSA", bits), what, field="key_size")
    if bits not in KEY_POLICY.rsa_issued_sizes:
        raise EhcertError(
            ErrorKind.BAD_KEY,
            f"The {what} is RSA {bits} bits; the platform accepts "
            f"{KEY_POLICY.issued_sizes_text()} bits.",
            field="key_size",
        )


def check_platform_key_size(bits: int, role: str) -> None:
    """A platform signer's RSA size (CA, OCSP, STS, ETK depot) must be one of
    ``platform_rsa_sizes``: refused as a configuration error otherwise."""
    if bits not in KEY_POLICY.platform_rsa_sizes:
        sizes = _either([str(size) for size in KEY_POLICY.platform_rsa_sizes])
        raise ValueError(f"the {role} key size {bits} is not one of {sizes} bits")


# --- key types: what is generated --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyType:
    """A key to generate: ``rsa-2048`` (RSA, 2048 bits) or ``ec-p384`` (EC on secp384r1)."""

    name: str
    algorithm: str
    bits: int
    curve: str | None = None

    @property
    def facts(self) -> KeyFacts:
        return KeyFacts(self.algorithm, self.bits, self.curve)

    @property
    def label(self) -> str:
        """``RSA 2048`` or ``EC P-384``: how a person reads it."""
        if self.curve is None:
            return f"{self.algorithm} {self.bits}"
        return f"{self.algorithm} {curve_label(self.curve)}"


KEY_TYPES: dict[str, KeyType] = {
    t.name: t
    for t in (
        KeyType("rsa-2048", "RSA", 2048),
        KeyType("rsa-3072", "RSA", 3072),
        KeyType("rsa-4096", "RSA", 4096),
        KeyType("ec-p256", "EC", 256, "secp256r1"),
        KeyType("ec-p384", "EC", 384, "secp384r1"),
    )
}
REQUEST_KEY_TYPES = ("rsa-2048", "rsa-3072", "ec-p256", "ec-p384")
"""What a holder's certificate request may generate (``cert request --key-type``)."""
PLATFORM_KEY_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384")
"""What a CA hierarchy may be created with (``admin init --key-type``)."""
DEFAULT_REQUEST_KEY_TYPE = "rsa-2048"


def key_type(name: str, *, allowed: tuple[str, ...] = REQUEST_KEY_TYPES) -> KeyType:
    """The key type called ``name``; refused (BAD_KEY, field ``key_type``) outside
    ``allowed`` with the list of what is."""
    if not isinstance(name, str):
        raise TypeError("the key type must be a string")
    if name not in allowed:
        raise EhcertError(
            ErrorKind.BAD_KEY,
            f"The key type {name!r} is not one the platform generates; "
            f"use {_either(list(allowed))}.",
            field="key_type",
        )
    return KEY_TYPES[name]


def key_type_of(facts: KeyFacts) -> KeyType | None:
    """The key type ``facts`` describe, None when it is none of :data:`KEY_TYPES`."""
    for candidate in KEY_TYPES.values():
        if candidate.facts == facts:
            return candidate
    return None


def explicit_parameters_problem(what: str) -> KeyProblem:
    """An EC key given by explicit curve parameters (RFC 5480 section 2.1.1 forbids them:
    a crafted curve could look like P-384 and be weak)."""
    return KeyProblem(
        "key_algorithm",
        f"The {what} is an EC key given by explicit curve parameters; only a named curve "
        f"({_either(sorted(curve_label(c) for c in KEY_POLICY.ec_curves))}) is accepted.",
    )


def point_off_curve_problem(what: str, curve: str) -> KeyProblem:
    """An EC public point that is not on its curve (SEC 1 section 3.2.2.1: rejected, since
    such a point leaks the private key in ECDH: the invalid-curve attack)."""
    return KeyProblem(
        "key_algorithm",
        f"The {what} is not a valid EC key: its point is not on the curve {curve_label(curve)}.",
    )


def refuse(problem: KeyProblem, *, field: str | None = None) -> EhcertError:
    """The BAD_KEY error carrying ``problem``'s sentence."""
    return EhcertError(ErrorKind.BAD_KEY, problem.detail, field=field)
