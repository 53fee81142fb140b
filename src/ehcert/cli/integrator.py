"""``ehcert integrator ...``: a software integrator's desk on an acceptance platform.

- ``integrator enrol --cbe N --secret-file FILE --out-dir DIR``: trade the one-time
  enrolment secret (``ehcert admin integrator add`` made it) for the integrator
  certificate, written to a new integrator keystore (its password from
  ``--password-file`` or typed twice);
- ``integrator identity add person|institution|mandate`` and ``integrator identity
  list``: test persons (SSINs of the reserved block, born on 30 or 31 February), test
  institutions and test mandates, signed with the integrator keystore (``--keystore``);
- ``integrator cert request --ssin S`` (or ``--institution TYPE=ID [--application
  APP] --mandate-holder S``): a test identity's keystore without an eID, with its ETK
  published, like ``ehcert cert request`` writes one (``--out-dir``; the new keystore's
  password from ``--new-password-file`` or typed twice).

Production has none of this: every command there ends with the platform's
``not-found``. See docs/integrator-guide.md for the same from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    PasswordFileOption,
    PlatformOption,
    cert_runtime,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.client.integrator import IntegratorClient
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.manager.integrator import enrol_integrator, integrator_signer, request_test_certificate
from ehcert.manager.secrets import read_secret

integrator_app = typer.Typer(
    name="integrator",
    help="A software integrator on acceptance: enrolment, test identities, test certificates.",
    no_args_is_help=True,
    add_completion=False,
)
identity_app = typer.Typer(no_args_is_help=True, help="Test persons, institutions and mandates.")
identity_add_app = typer.Typer(no_args_is_help=True, help="Make a test identity.")
cert_app = typer.Typer(no_args_is_help=True, help="Certificates for test identities.")
integrator_app.add_typer(identity_app, name="identity")
identity_app.add_typer(identity_add_app, name="add")
integrator_app.add_typer(cert_app, name="cert")

OutDirOption = Annotated[
    Path, typer.Option("--out-dir", metavar="DIR", help="Folder of the new keystore.")
]
NewPasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--new-password-file",
        metavar="FILE",
        help="File whose first line is the new keystore's password; prompted (twice) otherwise.",
    ),
]
KeyTypeOption = Annotated[
    str | None,
    typer.Option(
        "--key-type",
        metavar="TYPE",
        help="rsa-2048, rsa-3072, ec-p256 or ec-p384; the platform's advice otherwise.",
    ),
]


def _client(ctx: typer.Context, platform: str) -> IntegratorClient:
    try:
        return IntegratorClient(platform, transport=cert_runtime(ctx).transport)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--platform'") from None


def _signer(keystore: Path, password_file: Path | None) -> KeyEntryRequestSigner:
    return integrator_signer(keystore, read_secret(password_file, "Integrator keystore password"))


def _say(json_output: bool, answer: Any, text: str) -> None:
    if json_output:
        emit_json(answer)
    else:
        stdout_console.print(text, markup=False)


@integrator_app.command("enrol")
def enrol_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    cbe: Annotated[str, typer.Option("--cbe", metavar="CBE", help="Your CBE number.")],
    secret_file: Annotated[
        Path | None,
        typer.Option(
            "--secret-file",
            metavar="FILE",
            help="The one-time enrolment secret; prompted otherwise.",
        ),
    ] = None,
    out_dir: OutDirOption,
    password_file: PasswordFileOption = None,
    key_type: KeyTypeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Get the integrator certificate for the one-time enrolment secret."""
    with reported_errors(json_output=json_output):
        secret = read_secret(secret_file, "Enrolment secret")
        password = read_secret(password_file, "New integrator keystore password", confirm=True)
        with _client(ctx, platform) as client:
            path = enrol_integrator(
                client,
                cbe,
                secret,
                out_dir=out_dir,
                password=password,
                now=cert_runtime(ctx).clock.now(),
                key_type=key_type,
            )
        _say(json_output, {"keystore": path}, f"Integrator keystore written to {path}")


@identity_add_app.command("person")
def add_person_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    first_name: Annotated[str, typer.Option("--first-name", help="First name.")],
    last_name: Annotated[str, typer.Option("--last-name", help="Last name.")],
    profession: Annotated[str, typer.Option("--profession", help="e.g. doctor, nurse.")] = "doctor",
    ssin: Annotated[
        str | None,
        typer.Option(
            "--ssin", help="An SSIN of the reserved block; the platform picks one otherwise."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Make a test person (a validated care provider with a reserved test SSIN)."""
    with reported_errors(json_output=json_output):
        signer = _signer(keystore, password_file)
        with _client(ctx, platform) as client:
            person = client.add_test_person(
                signer, first_name, last_name, profession=profession, ssin=ssin
            )
        _say(
            json_output,
            person,
            f"Test person SSIN {person.ssin}: {person.first_name} {person.last_name} "
            f"({person.profession})",
        )


@identity_add_app.command("institution")
def add_institution_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    institution: Annotated[
        str, typer.Option("--institution", metavar="TYPE=ID", help="e.g. NIHII-HOSPITAL=71999926.")
    ],
    name: Annotated[str, typer.Option("--name", help="The institution's name.")],
    json_output: JsonOption = False,
) -> None:
    """Make a test institution (attested from today)."""
    with reported_errors(json_output=json_output):
        signer = _signer(keystore, password_file)
        with _client(ctx, platform) as client:
            made = client.add_test_institution(signer, institution, name)
        _say(json_output, made, f"Test institution {made.institution}: {made.name}")


@identity_add_app.command("mandate")
def add_mandate_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    institution: Annotated[str, typer.Option("--institution", metavar="TYPE=ID")],
    ssin: Annotated[str, typer.Option("--ssin", help="The test person who holds the mandate.")],
    json_output: JsonOption = False,
) -> None:
    """Make a test mandate: the test person holds certificates for the institution."""
    with reported_errors(json_output=json_output):
        signer = _signer(keystore, password_file)
        with _client(ctx, platform) as client:
            mandate = client.add_test_mandate(signer, institution, ssin)
        _say(json_output, mandate, f"Test mandate: SSIN {mandate.ssin} for {mandate.institution}")


@identity_app.command("list")
def list_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """List your test identities."""
    with reported_errors(json_output=json_output):
        signer = _signer(keystore, password_file)
        with _client(ctx, platform) as client:
            listing = client.test_identities(signer)
        if json_output:
            emit_json(listing)
            return
        # Tab-separated, one identity a line, for scripts (no console styling).
        for person in listing.persons:
            typer.echo(
                f"person\tSSIN={person.ssin}\t{person.first_name} {person.last_name}\t"
                f"{person.profession}"
            )
        for found in listing.institutions:
            typer.echo(f"institution\t{found.institution}\t{found.name}")
        for mandate in listing.mandates:
            state = "active" if mandate.active else "ended"
            typer.echo(f"mandate\t{mandate.institution}\tSSIN={mandate.ssin}\t{state}")


@cert_app.command("request")
def request_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    ssin: Annotated[str | None, typer.Option("--ssin", help="The test person.")] = None,
    institution: Annotated[
        str | None, typer.Option("--institution", metavar="TYPE=ID", help="The test institution.")
    ] = None,
    application: Annotated[
        str | None, typer.Option("--application", metavar="APP", help="The application id.")
    ] = None,
    mandate_holder: Annotated[
        str | None,
        typer.Option(
            "--mandate-holder", metavar="SSIN", help="The institution's test mandate holder."
        ),
    ] = None,
    out_dir: OutDirOption,
    new_password_file: NewPasswordFileOption = None,
    key_type: KeyTypeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Request a test identity's certificate without an eID (its ETK is published)."""
    with reported_errors(json_output=json_output):
        signer = _signer(keystore, password_file)
        password = read_secret(new_password_file, "New keystore password", confirm=True)
        with _client(ctx, platform) as client:
            path = request_test_certificate(
                client,
                signer,
                ssin=ssin,
                institution=institution,
                application_id=application,
                mandate_holder=mandate_holder,
                out_dir=out_dir,
                password=password,
                now=cert_runtime(ctx).clock.now(),
                key_type=key_type,
            )
        _say(json_output, {"keystore": path}, f"Keystore written to {path}")
