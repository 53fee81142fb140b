"""Finding the Belgian eID middleware and the cards in its readers, without asking.

A care provider has installed the eID middleware (eid.belgium.be) and put the card in
a reader; they should not have to know where its PKCS#11 module lives, nor what a
token label is. The module is taken, in this order, from:

1. a setting given by the caller (``ehcert manager ui --eid-pkcs11``, the CLI's
   ``--eid-pkcs11 MODULE``);
2. the ``EHCERT_EID_PKCS11`` environment variable (tests point it at SoftHSM2's
   ``libsofthsm2.so``; a site with the module elsewhere sets it once);
3. the places where the middleware's installers put ``libbeidpkcs11`` on Linux
   (Debian/Ubuntu multiarch, Fedora ``lib64``, ``/usr/local`` builds), macOS (the
   ``Belgium Identity Card`` package and its ``/usr/local/lib`` links) and Windows
   (``System32``, ``SysWOW64``).

A setting or variable that names a file that does not exist is an error naming it,
never a silent fall-back to another module.

Each token the module shows is a card in a reader (PKCS#11 slot); the holder is read
from the certificate labelled ``Authentication`` (a public object, so before any PIN):
given name and surname, and the SSIN in ``serialNumber`` (the eID certificate profile,
:mod:`ehcert.pki.eid_profiles`). Only the PIN is then needed to open the card.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from ehcert.client.eid import BELGIAN_EID_AUTHENTICATION_LABEL, Pkcs11EidCredential
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.pkcs11 import PresentToken, present_tokens
from ehcert.pki.pkcs11_sessions import close_session

EID_MODULE_VARIABLE = "EHCERT_EID_PKCS11"
MIDDLEWARE_DOWNLOAD = "https://eid.belgium.be"

BEID_MODULES: Mapping[str, tuple[str, ...]] = {
    "linux": (
        "/usr/lib/x86_64-linux-gnu/libbeidpkcs11.so.0",
        "/usr/lib/x86_64-linux-gnu/libbeidpkcs11.so",
        "/usr/lib/aarch64-linux-gnu/libbeidpkcs11.so.0",
        "/usr/lib/aarch64-linux-gnu/libbeidpkcs11.so",
        "/usr/lib64/libbeidpkcs11.so.0",
        "/usr/lib64/libbeidpkcs11.so",
        "/usr/lib/libbeidpkcs11.so.0",
        "/usr/lib/libbeidpkcs11.so",
        "/usr/local/lib/libbeidpkcs11.so.0",
        "/usr/local/lib/libbeidpkcs11.so",
    ),
    "darwin": (
        "/Library/Belgium Identity Card/Pkcs11/libbeidpkcs11.dylib",
        "/Library/Belgium Identity Card/Pkcs11/beid-pkcs11.bundle/Contents/MacOS/"
        "libbeidpkcs11.dylib",
        "/usr/local/lib/libbeidpkcs11.dylib",
        "/usr/local/lib/beid-pkcs11.bundle/Contents/MacOS/libbeidpkcs11.dylib",
    ),
    "win32": (
        r"C:\Windows\System32\beidpkcs11.dll",
        r"C:\Windows\SysWOW64\beidpkcs11.dll",
    ),
}
"""Where the beID middleware's packages install its PKCS#11 module, per ``sys.platform``."""


@dataclass(frozen=True)
class EidModule:
    """The PKCS#11 module found, and what named it (shown to the user)."""

    path: Path
    source: str  # "setting", "environment" or "standard location"


def standard_locations(system: str | None = None) -> tuple[str, ...]:
    """The standard module paths for ``system`` (``sys.platform`` spelling)."""
    name = system or sys.platform
    if name.startswith("linux") or name not in BEID_MODULES:
        return BEID_MODULES["linux"]
    return BEID_MODULES[name]


def _named(path_text: str, what: str) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"The eID PKCS#11 module {path} named by {what} does not exist.",
            field="module",
        )
    return path


def find_eid_module(
    setting: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    candidates: Sequence[str] | None = None,
) -> EidModule | None:
    """The eID middleware's PKCS#11 module, or ``None`` when none is installed.

    ``environ``, ``system`` and ``candidates`` default to this process and machine;
    tests pass their own to check each platform's list.
    """
    variables = os.environ if environ is None else environ
    if setting:
        return EidModule(_named(str(setting), "the --eid-pkcs11 setting"), "setting")
    from_environment = variables.get(EID_MODULE_VARIABLE, "").strip()
    if from_environment:
        return EidModule(_named(from_environment, EID_MODULE_VARIABLE), "environment")
    for candidate in candidates if candidates is not None else standard_locations(system):
        if Path(candidate).is_file():
            return EidModule(Path(candidate), "standard location")
    return None


def require_eid_module(setting: str | Path | None = None) -> EidModule:
    """:func:`find_eid_module`, or the one sentence saying what to install."""
    found = find_eid_module(setting)
    if found is None:
        raise EhcertError(
            ErrorKind.UNAVAILABLE,
            "No eID middleware was found on this computer: install it from "
            f"{MIDDLEWARE_DOWNLOAD}, or name its PKCS#11 module with {EID_MODULE_VARIABLE}.",
            field="module",
        )
    return found


@dataclass(frozen=True)
class EidCard:
    """A card in a reader as shown before the PIN: reader, label and holder."""

    reader: str
    token_label: str
    certificate: x509.Certificate | None  # None: the token holds no eID certificate

    @property
    def is_eid(self) -> bool:
        return self.certificate is not None

    @property
    def holder_name(self) -> str | None:
        """Given names and surname from the authentication certificate."""
        return certificate_holder(self.certificate)[0] if self.certificate else None

    @property
    def ssin(self) -> str | None:
        """The holder's national number (``serialNumber`` of the subject)."""
        return certificate_holder(self.certificate)[1] if self.certificate else None


def certificate_holder(certificate: x509.Certificate) -> tuple[str | None, str | None]:
    """``(name, SSIN)`` of an eID authentication certificate's holder.

    The name is the given names and surname (``GN``, ``SN``), else the common name
    without its ``(Authentication)`` suffix; the SSIN is ``serialNumber``.
    """
    subject = certificate.subject
    given = _attribute(subject, NameOID.GIVEN_NAME)
    surname = _attribute(subject, NameOID.SURNAME)
    name: str | None
    if given and surname:
        name = f"{given} {surname}"
    else:
        common = _attribute(subject, NameOID.COMMON_NAME)
        name = common.removesuffix("(Authentication)").strip() if common else None
    return name, _attribute(subject, NameOID.SERIAL_NUMBER)


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value).strip() if values else None


def _card(token: PresentToken) -> EidCard:
    labelled = [
        cert for label, cert in token.certificates if label == BELGIAN_EID_AUTHENTICATION_LABEL
    ]
    return EidCard(token.slot_description, token.token_label, labelled[0] if labelled else None)


def list_eid_cards(module: EidModule | Path | str) -> list[EidCard]:
    """The cards in the module's readers, eID cards first, in slot order otherwise."""
    path = module.path if isinstance(module, EidModule) else Path(module)
    cards = [_card(token) for token in present_tokens(path)]
    return sorted(cards, key=lambda card: not card.is_eid)


def choose_card(cards: Sequence[EidCard], token_label: str | None) -> EidCard:
    """The card to use: the one named, or the only eID card present (command line)."""
    if token_label:
        for card in cards:
            if card.token_label == token_label:
                return card
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"No card labelled '{token_label}' is in a reader.",
            field="token_label",
        )
    eid_cards = [card for card in cards if card.is_eid]
    if not eid_cards:
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            "No eID card is in a card reader: insert your card and try again.",
            field="token_label",
        )
    if len(eid_cards) > 1:
        shown = ", ".join(f"'{card.token_label}' ({card.holder_name})" for card in eid_cards)
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"Several eID cards are in readers ({shown}); name one with --token-label.",
            field="token_label",
        )
    return eid_cards[0]


def open_card(
    module: EidModule | Path | str,
    token_label: str,
    pin: str,
    key_label: str = BELGIAN_EID_AUTHENTICATION_LABEL,
) -> Pkcs11EidCredential:
    """The card's authentication key, opened with the PIN (the key stays on the card)."""
    path = module.path if isinstance(module, EidModule) else Path(module)
    return Pkcs11EidCredential(path, token_label, pin, key_label)


def close_card(module: EidModule | Path | str, token_label: str) -> None:
    """Log out of the card at the end of a flow (the PIN is not kept for later)."""
    path = module.path if isinstance(module, EidModule) else Path(module)
    close_session(str(path), token_label)
