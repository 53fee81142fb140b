"""``ehcert seal`` and ``ehcert unseal``: end-to-end encrypted messages (ETEE).

- ``ehcert seal --keystore K --to SSIN=... [--to NIHII-HOSPITAL=...] IN OUT`` looks up
  and verifies each recipient's ETK at ``--platform``, then signs, encrypts and signs
  again; an unusable ETK refuses the send (exit 1) with the reason.
- ``ehcert unseal --keystore K IN OUT [--report-json FILE]`` opens a message with every
  key the keystore holds. The content is written only when the data verdict is valid
  (exit 0, trust issues printed as warnings); invalid data exits 1. Trust anchors are
  the platform's root (with ``--platform``) and any ``--anchor`` files, so a message
  from outside opens with any keystore, whatever CA issued it. The sender's revocation
  is checked at the signing time (OCSP from the certificate's AIA, then its CRL:
  :mod:`ehcert.client.revocation`); ``--offline`` asks nobody and reports the status as
  unknown, never as good.

``seal`` refuses to sign with the keystore's certificate when it is expired or revoked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    PasswordFileOption,
    cert_runtime,
    platform_client,
)
from ehcert.cli.output import emit_json, reported_errors, stderr_console
from ehcert.cli.trust import (
    AnchorOption,
    OfflineOption,
    load_certificates,
    revocation_checker,
    trust_anchors,
)
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.messages import CIPHERS, seal_for, unseal_file
from ehcert.manager.secrets import read_secret
from ehcert.pki.files import write_private_file
from ehcert.pki.keystore import read_keystore_file

OptionalPlatform = Annotated[
    str | None,
    typer.Option("--platform", envvar="EHCERT_PLATFORM", metavar="URL", help="Platform URL."),
]


def _read_input(path: Path) -> bytes:
    if not path.is_file():
        raise EhcertError(ErrorKind.NOT_FOUND, f"The input file {path} does not exist.")
    return path.read_bytes()


def _write_refusal_report(path: Path, error: EhcertError) -> None:
    """A message that cannot even be read still gets a report: data invalid, and why."""
    issue = {"code": "malformed", "where": "message", "detail": error.detail}
    report = {"data": {"valid": False, "issues": [issue]}, "trust": None}
    write_private_file(path, json.dumps(report, indent=2).encode())


def _not_opened(data: dict[str, Any]) -> EhcertError:
    """Why the content was withheld, in one sentence, from the report's data verdict.

    No key of ours is its own kind (NOT_FOUND: the message is sound, it was sealed for
    other keys), not MALFORMED; a layer signed with SHA-1 names the flag that opens it.
    """
    issues: list[dict[str, str]] = data["issues"]
    codes = {issue["code"] for issue in issues}
    reasons = "; ".join(issue["detail"].rstrip(".") for issue in issues)
    kind = ErrorKind.NOT_FOUND if codes == {"no_key"} else ErrorKind.MALFORMED
    layers = [data.get(layer) or {} for layer in ("outer", "inner")]
    sha1 = any(layer.get("digest_algorithm") == "sha1" for layer in layers)
    hint = " (a message of the 2014 platform's format opens with --allow-sha1)" if sha1 else ""
    return EhcertError(kind, f"The message was not opened: {reasons or 'it is not valid'}{hint}.")


def seal_command(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Argument(metavar="IN", help="The content to seal.")],
    output_file: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write.")],
    keystore: KeystoreOption,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Recipient TYPE=ID[,APP]; repeat for several."),
    ] = None,
    to_etk: Annotated[
        list[Path] | None,
        typer.Option("--to-etk", metavar="FILE", help="Also seal to this ETK file (verified)."),
    ] = None,
    platform: OptionalPlatform = None,
    password_file: PasswordFileOption = None,
    cipher: Annotated[str, typer.Option(help="aes128 (default) or aes256.")] = "aes128",
    no_copy_to_self: Annotated[
        bool, typer.Option("--no-copy-to-self", help="Do not add yourself as a recipient.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Seal IN for the recipients' ETKs (looked up and verified at the platform)."""
    if cipher not in CIPHERS:
        raise typer.BadParameter(f"use one of {', '.join(CIPHERS)}", param_hint="'--cipher'")
    if platform is None:
        raise typer.BadParameter("the ETK depot's platform is needed", param_hint="'--platform'")
    if not to and not to_etk:
        raise typer.BadParameter("name a recipient", param_hint="'--to' or '--to-etk'")
    with reported_errors(json_output=json_output):
        content = _read_input(input_file)
        password = read_secret(password_file, "Keystore password")
        store = read_keystore_file(keystore, password)
        with platform_client(ctx, platform) as client:
            sealed, recipients = seal_for(
                client,
                store,
                to or [],
                content,
                now=cert_runtime(ctx).clock.now(),
                cipher=cipher,
                include_sender=not no_copy_to_self,
                etk_files=to_etk or [],
            )
        write_private_file(output_file, sealed)
        result = {
            "output": str(output_file),
            "bytes": len(sealed),
            "recipients": [
                {
                    "identifier": r.identifier,
                    "holder": r.holder,
                    "encryption_serial": r.encryption_serial,
                    "key_type": r.key_type,
                }
                for r in recipients
            ],
        }
        if json_output:
            emit_json(result)
        else:
            names = ", ".join(f"{r.identifier} ({r.key_type})" for r in recipients)
            stderr_console.print(f"Sealed {len(content)} bytes for {names} into {output_file}.")


def unseal_command(
    ctx: typer.Context,
    input_file: Annotated[Path, typer.Argument(metavar="IN", help="The sealed message.")],
    output_file: Annotated[Path, typer.Argument(metavar="OUT", help="Where the content goes.")],
    keystore: KeystoreOption,
    platform: OptionalPlatform = None,
    password_file: PasswordFileOption = None,
    anchor: AnchorOption = None,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Write the full report here.")
    ] = None,
    offline: OfflineOption = False,
    sender_cert: Annotated[
        list[Path] | None,
        typer.Option(
            "--sender-cert",
            metavar="FILE",
            help="The sender's certificate, when the message names it but does not carry it.",
        ),
    ] = None,
    allow_sha1: Annotated[
        bool,
        typer.Option(
            "--allow-sha1",
            help="Accept SHA-1 signatures (the 2014 platform's messages); reported as a warning.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Open IN with every key of the keystore; report data and trust verdicts apart."""
    with reported_errors(json_output=json_output):
        data = _read_input(input_file)
        password = read_secret(password_file, "Keystore password")
        anchors = trust_anchors(ctx, platform, anchor)
        supplied = [c for path in sender_cert or [] for c in load_certificates(path, "sender-cert")]
        runtime = cert_runtime(ctx)
        try:
            with revocation_checker(runtime, platform, offline=offline) as revocation:
                opened = unseal_file(
                    keystore,
                    password,
                    data,
                    anchors=anchors,
                    now=runtime.clock.now(),
                    revocation=revocation,
                    sender_certificates=supplied,
                    allow_sha1_certificates=allow_sha1,
                    allow_sha1_signatures=allow_sha1,
                )
        except EhcertError as error:
            if report_json is not None and error.kind is ErrorKind.MALFORMED:
                _write_refusal_report(report_json, error)
            raise
        report = opened.report.to_dict()
        if report_json is not None:
            write_private_file(report_json, json.dumps(report, indent=2).encode())
        if opened.content is None:
            raise _not_opened(report["data"])
        write_private_file(output_file, opened.content)
        if json_output:
            emit_json({"output": str(output_file), "bytes": len(opened.content), "report": report})
            return
        stderr_console.print(f"Opened {len(opened.content)} bytes into {output_file}.")
        for issue in report["trust"]["issues"]:
            stderr_console.print(f"warning: {issue['detail']}")
