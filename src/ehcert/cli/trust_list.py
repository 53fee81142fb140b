"""``ehcert trust update|show``: the client's trust store, by hand.

The trust store (:mod:`ehcert.client.trust_store`; ``--trust-store`` or
``EHCERT_TRUST_STORE``, default ``~/ehealth/trust``) holds the platform's last accepted
signed trust list. The commands that judge certificates (``unseal``, ``etk show``)
refresh it by themselves when it holds a list (:func:`ehcert.cli.trust.store_anchors`);
these commands do it on request:

- ``trust update [--platform URL]`` fetches the newest list and accepts it when it
  follows the held one; into an empty store only with ``--root-cert FILE`` or
  ``--root-fingerprint SHA256``, the anchor the user vouches for;
- ``trust show [--json]`` says what the held list holds: sequence number, issue time,
  NextUpdate and each certificate with its role, generation and fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.options import JsonOption, cert_runtime, platform_client
from ehcert.cli.output import emit_json, exits_on_error, stderr_console, stdout_console
from ehcert.cli.trust import load_certificates, trust_store
from ehcert.client.trust_store import RootAnchor
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.trust_list import TrustList

trust_app = typer.Typer(
    name="trust",
    help="The platform's signed trust list: update the local trust store, show it.",
    no_args_is_help=True,
    add_completion=False,
)

TrustStoreOption = Annotated[
    Path | None,
    typer.Option(
        "--trust-store",
        envvar="EHCERT_TRUST_STORE",
        metavar="DIR",
        help="The trust store folder (default ~/ehealth/trust, or EHCERT_TRUST_STORE).",
    ),
]


def _anchor(root_cert: Path | None, root_fingerprint: str | None) -> RootAnchor | None:
    if root_cert is not None and root_fingerprint is not None:
        raise typer.BadParameter(
            "give the root certificate or its fingerprint, not both", param_hint="'--root-cert'"
        )
    if root_fingerprint is not None:
        return RootAnchor.from_fingerprint(root_fingerprint)
    if root_cert is None:
        return None
    certificates = load_certificates(root_cert, "root-cert")
    if len(certificates) != 1:
        raise EhcertError(
            ErrorKind.MALFORMED, f"{root_cert} must hold one certificate.", field="root-cert"
        )
    return RootAnchor.from_certificate(certificates[0])


def describe(listed: TrustList) -> dict[str, object]:
    """The JSON of ``trust show`` (and of ``trust update --json``)."""
    return {
        "environment": listed.environment,
        "sequence": listed.sequence,
        "issued": listed.issued.isoformat(),
        "next_update": listed.next_update.isoformat(),
        "services": [
            {
                "role": service.role,
                "generation": service.generation,
                "type": service.service_type,
                "subject": service.certificate.subject.rfc4514_string(),
                "not_after": service.certificate.not_valid_after_utc.isoformat(),
                "sha256": service.fingerprint,
            }
            for service in listed.services
        ],
    }


@trust_app.command("update")
@exits_on_error
def update_command(
    ctx: typer.Context,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            envvar="EHCERT_PLATFORM",
            metavar="URL",
            help="Platform URL (default: the one the trust store was filled from).",
        ),
    ] = None,
    trust_store_dir: TrustStoreOption = None,
    root_cert: Annotated[
        Path | None,
        typer.Option("--root-cert", metavar="FILE", help="The platform's root CA (first use)."),
    ] = None,
    root_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--root-fingerprint", metavar="SHA256", help="The root CA's SHA-256 (first use)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Fetch the platform's newest trust list and accept it if it follows the held one."""
    store = trust_store(trust_store_dir)
    anchor = _anchor(root_cert, root_fingerprint)
    url = platform or store.platform()
    if url is None:
        raise typer.BadParameter("name the platform with --platform", param_hint="'--platform'")
    with platform_client(ctx, url) as client:
        refreshed = store.refresh(
            client.trust_list, cert_runtime(ctx).clock.now(), anchor=anchor, platform=url
        )
    listed = refreshed.trust_list
    if json_output:
        emit_json({**describe(listed), "accepted": list(refreshed.accepted)})
    elif refreshed.changed:
        steps = ", ".join(str(n) for n in refreshed.accepted)
        stderr_console.print(f"Accepted trust list number {steps} from {url}.")
    else:
        stderr_console.print(f"Trust list number {listed.sequence} from {url} is the newest.")


@trust_app.command("show")
@exits_on_error
def show_command(trust_store_dir: TrustStoreOption = None, json_output: JsonOption = False) -> None:
    """Show the trust list the trust store holds."""
    store = trust_store(trust_store_dir)
    listed = store.current()
    if listed is None:
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"The trust store {store.folder} holds no trust list; run 'ehcert trust update'.",
        )
    if json_output:
        emit_json(describe(listed))
        return
    stdout_console.print(
        f"Trust list number {listed.sequence} ({listed.environment}), issued "
        f"{listed.issued:%Y-%m-%d %H:%M} UTC, next update by "
        f"{listed.next_update:%Y-%m-%d %H:%M} UTC"
    )
    for service in listed.services:
        stdout_console.print(
            f"  {service.role:<10} gen {service.generation:<3} "
            f"{service.certificate.subject.rfc4514_string()}  SHA-256 {service.fingerprint}",
            markup=False,
        )
