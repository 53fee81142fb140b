"""``ehcert etk ...``: look up a holder's ETK in the depot, (re-)register one's own.

- ``ehcert etk get SSIN=79021802145 --out FILE`` writes the current ETK (DER CMS
  SignedData) of one identifier; ``--application APP`` names an institution's
  application id; ``--json`` prints holder, subject, validity and the fingerprint (the
  SHA-256 of the encryption certificate's DER) plus ``etk_sha256`` (of the whole ETK).
- ``ehcert etk show FILE [--platform URL] [--anchor CA] [--offline] [--json]`` verifies
  an ETK one already holds, as one from the depot would be, and shows whose it is, its
  key type, validity, the depot's signature and the trust verdict (exit 1 when it
  cannot be sealed to).
- ``ehcert etk register --keystore FILE`` publishes the ETK of the keystore's current
  encryption key, when ``cert request`` or ``cert renew`` wrote the keystore but could not
  register it.

Exit codes and output as every ``ehcert`` command (:mod:`ehcert.cli.output`).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.options import (
    JsonOption,
    PasswordFileOption,
    PlatformOption,
    cert_runtime,
    platform_client,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.cli.trust import AnchorOption, OfflineOption, revocation_checker, trust_anchors
from ehcert.client.results import EtkIdentifier
from ehcert.core.identifiers import validate_application_id
from ehcert.manager.etk import EtkView, etk_view, register_keystore_etk
from ehcert.manager.local_etk import LocalEtkView, check_etk_file, describe_etk
from ehcert.manager.secrets import read_secret

etk_app = typer.Typer(
    name="etk",
    help="Look up encryption tokens (ETKs) in the depot and register your own.",
    no_args_is_help=True,
    add_completion=False,
)


def _identifier(text: str, application: str | None) -> EtkIdentifier:
    kind, sep, rest = text.strip().partition("=")
    value, _, inline_app = rest.partition(",")
    if not sep or not kind or not value:
        raise typer.BadParameter(
            "write the identifier TYPE=VALUE, e.g. SSIN=79021802145", param_hint="IDENTIFIER"
        )
    app = application or inline_app.strip() or None
    if app is not None:
        try:
            validate_application_id(app)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--application'") from None
    return EtkIdentifier(kind.strip().upper(), value.strip(), app)


def _show(view: EtkView, out: Path | None) -> None:
    rows = [
        ("Identifier", view.identifier),
        ("Holder", view.holder),
        ("Subject", view.subject),
        ("Valid from", view.not_before),
        ("Valid until", view.not_after),
        ("Fingerprint", f"{view.fingerprint} (SHA-256 of the encryption certificate)"),
        ("Written to", str(out) if out else "-"),
    ]
    for label, value in rows:
        stdout_console.print(f"[bold]{label + ':':<13}[/bold] {value}", markup=True)


def _write(path: Path, data: bytes) -> None:
    """Write atomically: a reader never sees half an ETK."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@etk_app.command("get")
def get_command(
    ctx: typer.Context,
    identifier: Annotated[
        str,
        typer.Argument(
            metavar="IDENTIFIER",
            help="TYPE=VALUE: SSIN=..., NIHII=..., NIHII-HOSPITAL=..., CBE=..., EHP=...",
        ),
    ],
    *,
    platform: PlatformOption,
    application: Annotated[
        str | None,
        typer.Option("--application", metavar="APP", help="The institution's application id."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the ETK (DER) to FILE."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Fetch the current ETK of IDENTIFIER from the depot."""
    wanted = _identifier(identifier, application)
    with reported_errors(json_output=json_output):
        with platform_client(ctx, platform) as client:
            etk = client.etk(wanted)
        if out is not None:
            _write(out, etk.der)
        view = etk_view(str(wanted), etk)
        if json_output:
            emit_json({**asdict(view), "out": str(out) if out else None})
            return
        _show(view, out)


@etk_app.command("show")
def show_command(
    ctx: typer.Context,
    etk_file: Annotated[Path, typer.Argument(metavar="FILE", help="The ETK (DER).")],
    *,
    platform: Annotated[
        str | None,
        typer.Option("--platform", envvar="EHCERT_PLATFORM", metavar="URL", help="Platform URL."),
    ] = None,
    anchor: AnchorOption = None,
    offline: OfflineOption = False,
    json_output: JsonOption = False,
) -> None:
    """Verify and describe an ETK file: holder, key, validity, depot signature, trust."""
    with reported_errors(json_output=json_output):
        anchors = trust_anchors(ctx, platform, anchor)
        runtime = cert_runtime(ctx)
        with revocation_checker(runtime, platform, offline=offline) as revocation:
            etk, verdict = check_etk_file(
                etk_file, anchors=anchors, at=runtime.clock.now(), revocation=revocation
            )
        view = describe_etk(etk_file, etk, verdict)
        if json_output:
            emit_json(view)
        else:
            _show_local(view)
        if not view.usable:
            raise typer.Exit(1)


def _show_local(view: LocalEtkView) -> None:
    signature = "valid" if view.depot_signature_valid else "NOT valid"
    rows = [
        ("Holder", view.holder),
        ("Key", view.key_type),
        ("Valid from", view.not_before),
        ("Valid until", view.not_after),
        ("Depot", f"{view.depot or '(no depot certificate)'}, signature {signature}"),
        ("Trust", view.trust + ("" if view.usable else " (do not seal to it)")),
        ("Fingerprint", f"{view.fingerprint} (SHA-256 of the encryption certificate)"),
    ]
    for label, value in rows:
        stdout_console.print(f"[bold]{label + ':':<13}[/bold] {value}", markup=True)
    for issue in view.issues:
        stdout_console.print(f"  - {issue['detail']}", markup=False)


@etk_app.command("register")
def register_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: Annotated[
        Path, typer.Option("--keystore", metavar="FILE", help="The eHealth keystore (PKCS#12).")
    ],
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Publish the ETK of KEYSTORE's current encryption key (proof of possession)."""
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        with platform_client(ctx, platform) as client:
            etk = register_keystore_etk(client, keystore, password)
        view = etk_view(etk.holder, etk)
        if json_output:
            emit_json(view)
            return
        stdout_console.print("Published the ETK.", markup=False)
        _show(view, None)
