"""``ehcert cert ...``: request, renew, revoke and inspect an eHealth certificate.

A thin shell over :mod:`ehcert.manager.certificates`: parse options, read secrets (from
files or a hidden prompt, never from an argument: :mod:`ehcert.manager.secrets`), show
progress, print the result. Exit codes and output follow :mod:`ehcert.cli.output`:
0 done, 1 refused or failed (one sentence on stderr), 2 usage error; ``--json`` prints
one JSON object on stdout, and progress goes to stderr so stdout stays clean.

``--legacy-compatible`` (request, renew, change-password) writes the keystore with the
legacy algorithms older Java readers need (:func:`ehcert.pki.keystore.dump_keystore`);
the command then prints :data:`~ehcert.cli.options.LEGACY_WARNING` on stderr once it
succeeded, also with ``--json`` (stdout stays one JSON object), and never on failure
(stderr then holds only the one error sentence).

The platform URL comes from ``--platform`` or ``EHCERT_PLATFORM``. The clock and the HTTP
transport come from a :class:`~ehcert.cli.options.CertRuntime` in the Click context object
when a caller (an in-process test, an embedding program) provides one; otherwise the
system clock and plain HTTP are used. That keeps test hooks out of the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.cert_output import show_platform_status, show_view, written
from ehcert.cli.digital_key import (
    CodeFileOption,
    DigitalKeyOption,
    DigitalKeyPasswordFileOption,
    read_login,
    refuse_stray_files,
)
from ehcert.cli.keystore import (
    auto_renew_command,
    change_password_command,
    export_command,
    list_command,
    show_command,
    watch_command,
)
from ehcert.cli.options import (
    DETECTED_MODULE,
    EidOption,
    EidPkcs11Option,
    JsonOption,
    KeyLabelOption,
    KeystoreOption,
    LegacyCompatibleOption,
    OptionalModuleCommand,
    PasswordFileOption,
    PinFileOption,
    PlatformOption,
    TokenLabelOption,
    cert_runtime,
    platform_client,
    spinner,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.client.eid import EidCredential, Pkcs12EidCredential
from ehcert.client.platform import DigitalKeyLogin, normalise_serial
from ehcert.core.errors import EhcertError
from ehcert.core.identifiers import InstitutionId, validate_application_id
from ehcert.core.keys import KEY_POLICY, REQUEST_KEY_TYPES
from ehcert.core.revocation import HOLDER_REASONS
from ehcert.manager.certificate_views import StatusReport, certificate_status
from ehcert.manager.certificates import ENVIRONMENTS, request_certificate
from ehcert.manager.eid_middleware import choose_card, list_eid_cards, open_card, require_eid_module
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import (
    revoke_certificate,
    revoke_with_digital_key,
    revoke_with_eid,
    validate_revocation_reason,
)
from ehcert.manager.secrets import read_secret

cert_app = typer.Typer(
    name="cert",
    help="Request, renew, revoke and check your eHealth certificate.",
    no_args_is_help=True,
    add_completion=False,
)


# --- option parsing ------------------------------------------------------------------------


def _institution(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(InstitutionId.parse(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _application(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_application_id(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _reason(value: str) -> str:
    try:
        return validate_revocation_reason(value)
    except EhcertError as exc:
        raise typer.BadParameter(exc.detail) from None


def _serial(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_serial(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _environment(value: str | None) -> str | None:
    if value is not None and value not in ENVIRONMENTS:
        raise typer.BadParameter(f"use one of {', '.join(ENVIRONMENTS)}")
    return value


def _key_size(value: int) -> int:
    if value not in KEY_POLICY.rsa_issued_sizes:
        raise typer.BadParameter(f"use one of {', '.join(map(str, KEY_POLICY.rsa_issued_sizes))}")
    return value


def _key_type(value: str | None) -> str | None:
    if value is not None and value not in REQUEST_KEY_TYPES:
        raise typer.BadParameter(f"use one of {', '.join(REQUEST_KEY_TYPES)}")
    return value


KeyTypeOption = Annotated[
    str | None,
    typer.Option(
        "--key-type",
        metavar="TYPE",
        callback=_key_type,
        help="Type of the new authentication and encryption keys: "
        f"{', '.join(REQUEST_KEY_TYPES)} (default: the platform's advice on a request, "
        "the current key's type on a renewal).",
    ),
]


ReasonOption = Annotated[
    str,
    typer.Option(
        "--reason",
        callback=_reason,
        metavar="REASON",
        help=f"RFC 5280 reason: {', '.join(HOLDER_REASONS)}.",
    ),
]


def _require_one_eid(eid: Path | None, eid_pkcs11: str | None) -> None:
    if eid is not None and eid_pkcs11 is not None:
        raise typer.BadParameter(
            "give either --eid or --eid-pkcs11, not both", param_hint="'--eid' / '--eid-pkcs11'"
        )


def _load_eid(
    eid: Path | None,
    eid_pkcs11: str | None,
    token_label: str | None,
    key_label: str,
    pin_file: Path | None,
) -> EidCredential:
    """The eID: a PKCS#12 file, or the card in a reader (module and card found by
    themselves unless ``--eid-pkcs11 MODULE`` / ``--token-label`` name them)."""
    if eid is not None:
        return Pkcs12EidCredential.from_file(eid, read_secret(pin_file, "eID PIN"))
    assert eid_pkcs11 is not None
    module = require_eid_module(None if eid_pkcs11 == DETECTED_MODULE else eid_pkcs11)
    card = choose_card(list_eid_cards(module), token_label)
    return open_card(module, card.token_label, read_secret(pin_file, "eID PIN"), key_label)


# --- commands ------------------------------------------------------------------------------


@cert_app.command("request", cls=OptionalModuleCommand)
def request_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", metavar="DIR", help="Folder for the new keystore.")
    ],
    eid: EidOption = None,
    eid_pkcs11: EidPkcs11Option = None,
    token_label: TokenLabelOption = None,
    key_label: KeyLabelOption = "Authentication",
    pin_file: PinFileOption = None,
    institution: Annotated[
        str | None,
        typer.Option(
            "--institution",
            metavar="TYPE=ID",
            callback=_institution,
            help="Request for an institution, e.g. NIHII-HOSPITAL=71000436.",
        ),
    ] = None,
    application: Annotated[
        str | None,
        typer.Option(
            "--application",
            metavar="APP",
            callback=_application,
            help="Application id for an institution's certificate.",
        ),
    ] = None,
    password_file: PasswordFileOption = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            metavar="ENV",
            callback=_environment,
            help="Expected environment (acceptance or production): lets an "
            "existing keystore be detected before anything is sent.",
        ),
    ] = None,
    key_size: Annotated[
        int,
        typer.Option(
            "--key-size", callback=_key_size, help="RSA key size in bits (without --key-type)."
        ),
    ] = KEY_POLICY.rsa_default_bits,
    key_type: KeyTypeOption = None,
    legacy_compatible: LegacyCompatibleOption = False,
    digital_key: DigitalKeyOption = None,
    digital_key_password_file: DigitalKeyPasswordFileOption = None,
    code_file: CodeFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Request a new certificate, proving who you are with your eID (or a digital key)."""
    _require_one_eid(eid, eid_pkcs11)
    refuse_stray_files(digital_key, digital_key_password_file, code_file)
    with_eid = eid is not None or eid_pkcs11 is not None
    if with_eid == (digital_key is not None):
        raise typer.BadParameter(
            "give --eid FILE.p12, --eid-pkcs11 for the eID card in a reader, or "
            "--digital-key USER (one of them)",
            param_hint="'--eid' / '--eid-pkcs11' / '--digital-key'",
        )
    if application is not None and institution is None:
        raise typer.BadParameter(
            "an application id needs --institution", param_hint="'--application'"
        )
    runtime = cert_runtime(ctx)
    with reported_errors(json_output=json_output):
        credential: EidCredential | DigitalKeyLogin
        if digital_key is None:
            credential = _load_eid(eid, eid_pkcs11, token_label, key_label, pin_file)
        password = read_secret(password_file, "New keystore password", confirm=True)
        if digital_key is not None:  # the code last, as fresh as it can be
            credential = read_login(digital_key, digital_key_password_file, code_file)
        with platform_client(ctx, platform) as client, spinner() as progress:
            path = request_certificate(
                client,
                credential,
                institution=institution,
                application_id=application,
                out_dir=out_dir,
                password=password,
                environment_hint=environment,
                now=runtime.clock.now(),
                progress=progress,
                key_size=key_size,
                legacy_compatible=legacy_compatible,
                key_type=key_type,
            )
        written(runtime.clock, path, password, json_output, "New", legacy_compatible)


@cert_app.command("renew")
def renew_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Renew only inside the renewal window; otherwise say why and exit 0 "
            "(safe to run daily from cron or a systemd timer).",
        ),
    ] = False,
    key_type: KeyTypeOption = None,
    legacy_compatible: LegacyCompatibleOption = False,
    digital_key: DigitalKeyOption = None,
    digital_key_password_file: DigitalKeyPasswordFileOption = None,
    code_file: CodeFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Renew the certificate in KEYSTORE (in the 90 days before it expires).

    The new keystore is written next to the old one, which is left untouched. With
    --digital-key the renewal is proven with the digital key, not the current key.
    """
    refuse_stray_files(digital_key, digital_key_password_file, code_file)
    if auto and digital_key is not None:
        raise typer.BadParameter(
            "--auto runs unattended; a digital key's code needs a person",
            param_hint="'--auto' / '--digital-key'",
        )
    if auto:
        auto_renew_command(
            ctx,
            keystore=keystore,
            platform=platform,
            password_file=password_file,
            legacy_compatible=legacy_compatible,
            json_output=json_output,
        )
        return
    runtime = cert_runtime(ctx)
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        login = (
            read_login(digital_key, digital_key_password_file, code_file)
            if digital_key is not None
            else None
        )
        with platform_client(ctx, platform) as client, spinner() as progress:
            path = renew_certificate(
                client,
                keystore,
                password,
                runtime.clock.now(),
                progress=progress,
                legacy_compatible=legacy_compatible,
                key_type=key_type,
                digital_key=login,
            )
        written(runtime.clock, path, password, json_output, "Renewed", legacy_compatible)


@cert_app.command("revoke", cls=OptionalModuleCommand)
def revoke_command(
    ctx: typer.Context,
    *,
    platform: PlatformOption,
    keystore: Annotated[
        Path | None,
        typer.Option("--keystore", metavar="FILE", help="Revoke this keystore's certificate."),
    ] = None,
    password_file: PasswordFileOption = None,
    eid: EidOption = None,
    eid_pkcs11: EidPkcs11Option = None,
    token_label: TokenLabelOption = None,
    key_label: KeyLabelOption = "Authentication",
    pin_file: PinFileOption = None,
    serial: Annotated[
        str | None,
        typer.Option(
            "--serial",
            metavar="HEX",
            callback=_serial,
            help="Serial of the certificate to revoke with your eID (lost keystore).",
        ),
    ] = None,
    reason: ReasonOption = "unspecified",
    digital_key: DigitalKeyOption = None,
    digital_key_password_file: DigitalKeyPasswordFileOption = None,
    code_file: CodeFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke a certificate, with its keystore or, if that is lost, with your eID or
    digital key."""
    _require_one_eid(eid, eid_pkcs11)
    refuse_stray_files(digital_key, digital_key_password_file, code_file)
    with_eid = eid is not None or eid_pkcs11 is not None
    proofs = (keystore is not None) + with_eid + (digital_key is not None)
    if proofs != 1:
        raise typer.BadParameter(
            "give either --keystore, an eID (--eid / --eid-pkcs11) or --digital-key USER",
            param_hint="'--keystore' / '--eid' / '--digital-key'",
        )
    if keystore is None and serial is None:
        raise typer.BadParameter(
            "revoking with an eID or a digital key needs --serial", param_hint="'--serial'"
        )
    if keystore is not None and serial is not None:
        raise typer.BadParameter(
            "--serial is taken from the keystore; leave it out", param_hint="'--serial'"
        )
    with reported_errors(json_output=json_output):
        if keystore is not None:
            password = read_secret(password_file, "Keystore password")
            with platform_client(ctx, platform) as client:
                status = revoke_certificate(client, keystore, password, reason)
        elif digital_key is not None:
            login = read_login(digital_key, digital_key_password_file, code_file)
            assert serial is not None
            with platform_client(ctx, platform) as client:
                status = revoke_with_digital_key(client, login, serial, reason)
        else:
            credential = _load_eid(eid, eid_pkcs11, token_label, key_label, pin_file)
            assert serial is not None
            with platform_client(ctx, platform) as client:
                status = revoke_with_eid(client, credential, serial, reason)
        if json_output:
            emit_json(status)
            return
        stdout_console.print(
            f"Certificate {status.serial} ({status.holder}) is {status.status.value}.", markup=False
        )
        show_platform_status(status)


@cert_app.command("status")
def status_command(
    ctx: typer.Context,
    *,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            envvar="EHCERT_PLATFORM",
            metavar="URL",
            help="Platform URL; without it the status is read offline from the keystore "
            "(revocation status: unknown).",
        ),
    ] = None,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the keystore's certificate: validity, renewal window and platform status."""
    runtime = cert_runtime(ctx)
    if platform is None:
        show_command(
            ctx,
            keystore=keystore,
            password_file=password_file,
            platform=None,
            json_output=json_output,
        )
        return
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        with platform_client(ctx, platform) as client:
            report: StatusReport = certificate_status(
                client, keystore, password, runtime.clock.now()
            )
        if json_output:
            emit_json(report)
            return
        stdout_console.print(f"[bold]{'Keystore:':<13}[/bold] {report.keystore}", markup=True)
        show_view(report.certificate, report.platform)
        show_platform_status(report.platform)


# The commands about keystores one holds (``cli.keystore``).
cert_app.command("show")(show_command)
cert_app.command("change-password")(change_password_command)
cert_app.command("export")(export_command)
cert_app.command("list")(list_command)
cert_app.command("watch")(watch_command)
cert_app.command("auto-renew")(auto_renew_command)
