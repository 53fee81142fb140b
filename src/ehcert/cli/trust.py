"""What the commands that judge other people's certificates share: anchors and revocation.

``unseal`` and ``etk show`` decide whether a certificate someone else holds can be
trusted. Both take trust anchors from ``--platform`` (its root) and ``--anchor`` files,
and learn revocation online (:class:`~ehcert.client.revocation.OnlineRevocationChecker`,
with the platform as a mirror) unless ``--offline`` says to ask nobody, in which case
the status is reported as unknown, never as good.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from ehcert.cli.options import CertRuntime, platform_client
from ehcert.client.revocation import OnlineRevocationChecker, offline_revocation_checker
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.revocation import RevocationChecker

AnchorOption = Annotated[
    list[Path] | None, typer.Option("--anchor", help="A trusted CA certificate file.")
]
OfflineOption = Annotated[
    bool,
    typer.Option("--offline", help="Fetch no revocation status; report it as unknown."),
]


def load_certificates(path: Path, option: str = "anchor") -> list[x509.Certificate]:
    """The certificates of a PEM (one or more) or DER file given as ``--<option>``."""
    if not path.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"The certificate file {path} does not exist.", field=option
        )
    data = path.read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except (ValueError, x509.InvalidVersion) as error:
        raise EhcertError(
            ErrorKind.MALFORMED, f"{path} is not a certificate (PEM or DER).", field=option
        ) from error


def trust_anchors(
    ctx: typer.Context, platform: str | None, files: Sequence[Path] | None
) -> list[x509.Certificate]:
    """The ``--anchor`` files' certificates, then the platform's root when given."""
    anchors: list[x509.Certificate] = []
    for path in files or []:
        anchors += load_certificates(path)
    if platform is not None:
        with platform_client(ctx, platform) as client:
            anchors.append(client.ca_certificates().root)
    return anchors


@contextmanager
def revocation_checker(
    runtime: CertRuntime, platform: str | None, *, offline: bool
) -> Iterator[RevocationChecker]:
    """Online (the platform, when given, mirrors every location), or unknown offline."""
    if offline:
        yield offline_revocation_checker
        return
    mirrors = [platform] if platform else []
    with OnlineRevocationChecker(
        runtime.clock.now, mirrors=mirrors, transport=runtime.transport
    ) as checker:
        yield checker
