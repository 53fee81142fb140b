"""``ehcert office ...``: a registration office's desk (the hybrid method).

An officer signs every call with their own eHealth keystore (``--keystore``, its
password from ``--password-file`` or a prompt):

- ``office register``: records the identity document the officer saw for a person known
  by a BIS number and issues that person's digital key. The person chooses its password
  (typed twice at the hidden prompt, or ``--new-password-file``); the TOTP enrolment is
  shown as a QR code on the terminal and, with ``--qr-png FILE``, written as a PNG file
  (0600: it holds the second factor's secret) for the person to scan with an
  authenticator app. The secret is shown this once; the platform never serves it again.
- ``office revoke-key USER --reason TEXT``: the key stops requests, renewals and
  revocations at once.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Annotated

import segno
import typer

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    PasswordFileOption,
    cert_runtime,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.office import Enrolment, ForeignRegistration, RegistrationOfficeClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.secrets import read_secret
from ehcert.pki.keystore import read_keystore_file

office_app = typer.Typer(
    name="office",
    help="A registration office: identity checks and digital keys (the hybrid method).",
    no_args_is_help=True,
    add_completion=False,
)

DOCUMENT_TYPES = ("passport", "identity-card", "residence-permit")

PlatformOption = Annotated[
    str,
    typer.Option(
        "--platform",
        envvar="EHCERT_PLATFORM",
        metavar="URL",
        help="Platform URL, e.g. http://127.0.0.1:8080 (or EHCERT_PLATFORM).",
    ),
]


def _document_type(value: str) -> str:
    if value not in DOCUMENT_TYPES:
        raise typer.BadParameter(f"use one of {', '.join(DOCUMENT_TYPES)}")
    return value


def _expiry(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("write the date as YYYY-MM-DD") from None
    return value


def _client(ctx: typer.Context, platform: str) -> RegistrationOfficeClient:
    try:
        return RegistrationOfficeClient(platform, transport=cert_runtime(ctx).transport)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--platform'") from None


def _officer_signer(keystore: Path, password_file: Path | None) -> KeyEntryRequestSigner:
    if not keystore.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"The keystore {keystore} does not exist.", field="keystore"
        )
    password = read_secret(password_file, "Officer keystore password")
    return KeyEntryRequestSigner(read_keystore_file(keystore, password).authentication())


def write_qr_png(path: Path, uri: str) -> None:
    """The enrolment QR code as a PNG file, readable by its owner only (it holds the
    TOTP secret); written whole or not at all."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=8, border=4)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(buffer.getvalue())
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def terminal_qr(uri: str) -> str:
    """The enrolment QR code drawn with block characters, for the desk's screen."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def _show_enrolment(enrolment: Enrolment, qr_png: Path | None) -> None:
    stdout_console.print(
        f"Digital key {enrolment.username} issued to SSIN {enrolment.ssin} "
        f"at office {enrolment.office}.",
        markup=False,
    )
    stdout_console.print(
        "Scan this code with an authenticator app (it is shown once):", markup=False
    )
    typer.echo(terminal_qr(enrolment.provisioning_uri))
    if qr_png is not None:
        stdout_console.print(f"QR code written to {qr_png}", markup=False)


@office_app.command("register")
def register_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    ssin: Annotated[str, typer.Option("--ssin", metavar="BIS", help="The person's BIS number.")],
    document_type: Annotated[
        str,
        typer.Option(
            "--document-type",
            callback=_document_type,
            help=f"The identity document seen: {', '.join(DOCUMENT_TYPES)}.",
        ),
    ],
    document_number: Annotated[
        str, typer.Option("--document-number", metavar="NUMBER", help="As printed on it.")
    ],
    issuing_country: Annotated[
        str,
        typer.Option("--issuing-country", metavar="CC", help="ISO 3166-1 alpha-2 code, e.g. PT."),
    ],
    document_expiry: Annotated[
        str,
        typer.Option(
            "--document-expiry", metavar="YYYY-MM-DD", callback=_expiry, help="Its expiry."
        ),
    ],
    username: Annotated[
        str, typer.Option("--username", metavar="USER", help="The new digital key's username.")
    ],
    new_password_file: Annotated[
        Path | None,
        typer.Option(
            "--new-password-file",
            metavar="FILE",
            help="File whose first line is the password the person chose; prompted "
            "(twice) otherwise.",
        ),
    ] = None,
    qr_png: Annotated[
        Path | None,
        typer.Option("--qr-png", metavar="FILE", help="Also write the QR code as a PNG file."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Record an identity check and issue the person's digital key."""
    with reported_errors(json_output=json_output):
        signer = _officer_signer(keystore, password_file)
        new_password = read_secret(
            new_password_file, "Digital key password (the person types it)", confirm=True
        )
        registration = ForeignRegistration(
            ssin=ssin.strip(),
            document_type=document_type,
            document_number=document_number,
            issuing_country=issuing_country,
            document_expiry=dt.date.fromisoformat(document_expiry),
            username=username,
            password=new_password,
        )
        with _client(ctx, platform) as client:
            enrolment = client.register(signer, registration)
        if qr_png is not None:
            write_qr_png(qr_png, enrolment.provisioning_uri)
        if json_output:
            emit_json(
                {
                    "username": enrolment.username,
                    "ssin": enrolment.ssin,
                    "office": enrolment.office,
                    "issued_at": enrolment.issued_at,
                    "provisioning_uri": enrolment.provisioning_uri,
                    "qr_png": qr_png,
                }
            )
            return
        _show_enrolment(enrolment, qr_png)


@office_app.command("revoke-key")
def revoke_key_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(metavar="USER", help="The digital key's username.")],
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why (kept in the audit log).")
    ],
    json_output: JsonOption = False,
) -> None:
    """Revoke a digital key: no request, renewal or revocation with it any more."""
    with reported_errors(json_output=json_output):
        signer = _officer_signer(keystore, password_file)
        with _client(ctx, platform) as client:
            revoked = client.revoke_key(signer, username, reason)
        if json_output:
            emit_json(revoked)
            return
        stdout_console.print(
            f"Digital key {revoked.username} (SSIN {revoked.ssin}) is revoked since "
            f"{revoked.revoked_at:%Y-%m-%d %H:%M:%S} UTC.",
            markup=False,
        )
