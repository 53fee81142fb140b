"""What the commands that judge other people's certificates share: anchors and revocation.

``unseal`` and ``etk show`` decide whether a certificate someone else holds can be
trusted. Both take trust anchors from ``--anchor`` files when given; otherwise from the
trust store (``EHCERT_TRUST_STORE``, default ``~/ehealth/trust``; see
:mod:`ehcert.client.trust_store` and ``ehcert trust update``), refreshed from the
platform's signed trust list first, when it holds one; and otherwise from
``--platform`` (the root it serves, as before trust lists). They learn revocation
online (:class:`~ehcert.client.revocation.OnlineRevocationChecker`, with the
platform as a mirror) unless ``--offline`` says to ask nobody, in which case the
status is reported as unknown, never as good.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from ehcert.cli.options import CertRuntime, cert_runtime, platform_client
from ehcert.cli.output import stderr_console
from ehcert.client.revocation import OnlineRevocationChecker, offline_revocation_checker
from ehcert.client.trust_store import TrustStore, default_trust_store
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.revocation import RevocationChecker
from ehcert.pki.trust_list import TrustList

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


def trust_store(folder: Path | None) -> TrustStore:
    """The trust store at ``folder``, ``EHCERT_TRUST_STORE`` or ``~/ehealth/trust``."""
    chosen = folder or Path(os.environ.get("EHCERT_TRUST_STORE") or default_trust_store())
    return TrustStore(chosen.expanduser())


def held_trust_list(
    ctx: typer.Context, folder: Path | None, platform: str | None
) -> TrustList | None:
    """The trust store's list, refreshed from ``platform`` (or the one it came from)
    first; ``None`` when the store holds no list (:meth:`TrustStore.in_use`)."""
    store = trust_store(folder)
    if store.current() is None:
        return None
    now = cert_runtime(ctx).clock.now()
    url = platform or store.platform()
    if url is None:
        return store.in_use(None, now)
    with platform_client(ctx, url) as client:
        return store.in_use(
            client.trust_list,
            now,
            platform=url,
            warn=lambda text: stderr_console.print(f"warning: {text}", markup=False),
        )


def store_anchors(
    ctx: typer.Context, folder: Path | None, platform: str | None
) -> list[x509.Certificate] | None:
    """The held trust list's roots (see :func:`held_trust_list`), or ``None``."""
    listed = held_trust_list(ctx, folder, platform)
    return None if listed is None else list(listed.roots)


def trust_anchors(
    ctx: typer.Context,
    platform: str | None,
    files: Sequence[Path] | None,
    trust_store_dir: Path | None = None,
) -> list[x509.Certificate]:
    """The ``--anchor`` files' certificates; without any, the trust store's roots (when it
    holds a list), else the platform's root when given."""
    anchors: list[x509.Certificate] = []
    for path in files or []:
        anchors += load_certificates(path)
    if anchors:
        return anchors
    from_store = store_anchors(ctx, trust_store_dir, platform)
    if from_store is not None:
        return from_store
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
