"""The ``ehcert cert`` commands about keystores one holds: show, change-password, export,
list, watch, auto-renew (:mod:`ehcert.cli.cert` registers them in the ``cert`` group,
beside request, renew, revoke and status, which talk to the platform's RA). They follow
the same contract (:mod:`ehcert.cli.output`): exit 0 done, 1 refused or failed (one
sentence on stderr), 2 usage error; ``--json`` prints one JSON object on stdout.
Secrets come from files or a hidden prompt, never from arguments
(:mod:`ehcert.manager.secrets`).

``watch`` and ``auto-renew`` are written for unattended use (cron, systemd timers, see
docs/systemd/): ``auto-renew`` exits 0 when there is nothing to do and says why, and 1
only when a person must act (expired or revoked certificate, refusal, failure);
``watch`` exits 1 as soon as one certificate needs attention, which is what monitoring
systems (Nagios-style checks, ``OnFailure=`` units) react to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    LegacyCompatibleOption,
    PasswordFileOption,
    cert_runtime,
    platform_client,
    warn_legacy,
)
from ehcert.cli.output import (
    EXIT_FAILED,
    emit_json,
    reported_errors,
    stderr_console,
    stdout_console,
)
from ehcert.client.results import CertificateStatus
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.certificate_views import describe_certificate
from ehcert.manager.keystores import (
    KeystoreSummary,
    RenewalOutcome,
    find_keystores,
    key_views,
    latest_keystore,
    newest_per_holder,
    read_summary,
    renewal_decision,
    summarise,
    watch_finding,
)
from ehcert.manager.password import change_password
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.secrets import read_secret
from ehcert.pki.keystore import read_keystore_file

OptionalPlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        envvar="EHCERT_PLATFORM",
        metavar="URL",
        help="Platform URL (or EHCERT_PLATFORM); without it, revocation status is unknown.",
    ),
]
KeystoreDirOption = Annotated[
    Path, typer.Option("--keystore-dir", metavar="DIR", help="Folder holding the keystores.")
]


def _status_of(
    ctx: typer.Context, platform: str | None, summary: KeystoreSummary
) -> CertificateStatus | None:
    if platform is None:
        return None
    with platform_client(ctx, platform) as client:
        return client.status(summary.certificate.serial)


def summary_json(summary: KeystoreSummary, status: CertificateStatus | None) -> dict[str, Any]:
    """A keystore's summary for ``--json``; ``revocation`` is the platform's word or unknown."""
    return {
        "keystore": summary.path,
        "holder": summary.holder,
        "display_name": summary.display_name,
        "holder_kind": summary.holder_kind,
        "environment": summary.environment,
        "certificate": summary.certificate,
        "encryption_keys": summary.encryption_keys,
        "other_entries": summary.other_entries,
        "revocation": status.status.value if status is not None else "unknown",
        "platform": status,
    }


def print_summary(summary: KeystoreSummary, status: CertificateStatus | None) -> None:
    """The human form of a keystore's offline status (plus the platform's, when known)."""
    view = summary.certificate
    if status is not None and status.revoked_at is not None:
        revocation = f"revoked since {status.revoked_at:%Y-%m-%d}"
    elif status is not None:
        revocation = status.status.value
    else:
        revocation = "unknown (no platform asked)"
    if view.expired:
        renewal = "no longer possible; make a new request with your eID"
    elif view.renewal_window_open:
        renewal = "open now"
    else:
        renewal = f"opens on {view.renewal_opens:%Y-%m-%d}"
    keys = ", ".join(
        f"{key.alias} (until {key.not_after:%Y-%m-%d})" for key in summary.encryption_keys
    )
    rows = [
        ("Keystore", str(summary.path)),
        ("Holder", f"{summary.display_name or '-'} ({summary.holder})"),
        ("Type", summary.holder_kind.value),
        ("Environment", summary.environment or "unknown"),
        ("Serial", view.serial),
        ("Valid until", f"{view.not_after:%Y-%m-%d %H:%M:%S} UTC"),
        ("Renewal", renewal),
        ("Revocation", revocation),
        ("Encryption", keys or "none"),
    ]
    if summary.other_entries:
        rows.append(("Other keys", ", ".join(summary.other_entries)))
    for label, value in rows:
        stdout_console.print(f"{label + ':':<13} {value}", markup=False)


def show_command(
    ctx: typer.Context,
    *,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    platform: OptionalPlatformOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a keystore's certificate and keys; offline unless --platform is given."""
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        summary = read_summary(keystore, password, cert_runtime(ctx).clock.now())
        status = _status_of(ctx, platform, summary)
        if json_output:
            emit_json(summary_json(summary, status))
        else:
            print_summary(summary, status)


def change_password_command(
    *,
    keystore: KeystoreOption,
    password_file: PasswordFileOption = None,
    new_password_file: Annotated[
        Path | None,
        typer.Option(
            "--new-password-file",
            metavar="FILE",
            help="File whose first line is the new password; prompted (twice) otherwise.",
        ),
    ] = None,
    legacy_compatible: LegacyCompatibleOption = False,
    json_output: JsonOption = False,
) -> None:
    """Re-encrypt KEYSTORE under a new password; a crash never loses the keystore."""
    with reported_errors(json_output=json_output):
        old = read_secret(password_file, "Keystore password")
        new = read_secret(new_password_file, "New keystore password", confirm=True)
        change_password(keystore, old, new, legacy_compatible=legacy_compatible)
        if json_output:
            emit_json({"keystore": keystore, "changed": True})
        else:
            stdout_console.print(f"The password of {keystore} has been changed.", markup=False)
        warn_legacy(legacy_compatible)


def _pem(certificates: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def export_command(
    ctx: typer.Context,
    *,
    keystore: KeystoreOption,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", metavar="DIR", help="Folder for the exported files.")
    ],
    password_file: PasswordFileOption = None,
    platform: OptionalPlatformOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the keystore's public certificates (PEM) and, with --platform, its ETK.

    Files: ``<name>-authentication.pem`` (certificate then chain),
    ``<name>-encryption-<alias>.pem`` per encryption key, ``<name>.etk`` (DER CMS, as
    the ETK depot publishes it). Never a private key. Existing files are not replaced.
    """
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        content = read_keystore_file(keystore, password)
        authentication = content.authentication()
        stem = keystore.name.removesuffix(".acc-p12").removesuffix(".p12")
        files: dict[str, bytes] = {
            f"{stem}-authentication.pem": _pem([authentication.certificate, *authentication.chain])
        }
        for entry in content.encryption_keys():
            files[f"{stem}-encryption-{entry.alias}.pem"] = _pem([entry.certificate])
        if platform is not None:
            holder = describe_certificate(
                authentication.certificate, cert_runtime(ctx).clock.now()
            ).holder
            with platform_client(ctx, platform) as client:
                files[f"{stem}.etk"] = client.etk(holder).der
        out_dir.mkdir(parents=True, exist_ok=True)
        taken = [name for name in files if (out_dir / name).exists()]
        if taken:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"{out_dir / taken[0]} already exists; choose another --out-dir.",
                field="out_dir",
            )
        for name, data in files.items():
            (out_dir / name).write_bytes(data)
        written = [out_dir / name for name in files]
        if json_output:
            emit_json({"keystore": keystore, "files": written})
        else:
            for path in written:
                stdout_console.print(str(path), markup=False)


def list_command(
    ctx: typer.Context,
    *,
    keystore_dir: KeystoreDirOption,
    password_file: PasswordFileOption = None,
    platform: OptionalPlatformOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the keystores in a folder; with --password-file, also what each one holds.

    Without a password only what the file names say is shown (the certificates inside a
    keystore are encrypted). Keystores that do not open with the password are listed
    as locked.
    """
    with reported_errors(json_output=json_output):
        found = find_keystores(keystore_dir)
        password = read_secret(password_file, "Keystore password") if password_file else None
        now = cert_runtime(ctx).clock.now()
        listed: list[dict[str, Any]] = []
        for item in found:
            row: dict[str, Any] = {
                "keystore": item.path,
                "holder_hint": item.holder_hint,
                "created": item.created,
                "environment": item.environment,
                "locked": True,
            }
            if password is not None:
                row.update(_opened_row(ctx, platform, item.path, password, now))
            listed.append(row)
        if json_output:
            emit_json({"keystore_dir": keystore_dir, "keystores": listed})
            return
        if not listed:
            stdout_console.print(f"No keystore in {keystore_dir}.", markup=False)
        for row in listed:
            _print_list_row(row)


def _opened_row(
    ctx: typer.Context, platform: str | None, path: Path, password: str, now: dt.datetime
) -> dict[str, Any]:
    """What ``cert list`` adds for a keystore that opens: its summary and all its keys."""
    try:
        content = read_keystore_file(path, password)
    except EhcertError as error:
        return {"problem": error.detail}
    row: dict[str, Any] = {"locked": False, "keys": key_views(content)}
    try:
        summary = summarise(path, content, now)
    except EhcertError as error:
        row["problem"] = error.detail
        return row
    row.update(summary_json(summary, _status_of(ctx, platform, summary)))
    return row


def _print_list_row(row: dict[str, Any]) -> None:
    name = Path(row["keystore"]).name
    if row["locked"]:
        created = f", created {row['created']:%Y-%m-%d}" if row["created"] else ""
        holder = row["holder_hint"] or "holder unknown"
        env = row["environment"] or "environment unknown"
        stdout_console.print(f"{name}: {holder}, {env}{created} (locked)", markup=False)
        return
    keys = "; ".join(
        f"{key.alias} ({key.role}{', ' + key.note if key.note else ''})" for key in row["keys"]
    )
    if "certificate" not in row:
        stdout_console.print(f"{name}: {row['problem']} Keys: {keys}.", markup=False)
        return
    view = row["certificate"]
    state = "expired" if view.expired else f"{view.days_left} days left"
    if row["revocation"] == "revoked":
        state = "revoked"
    window = (
        "renewal open" if view.renewal_window_open else f"renewal {view.renewal_opens:%Y-%m-%d}"
    )
    stdout_console.print(
        f"{name}: {row['display_name'] or '-'} ({row['holder']}), {row['holder_kind'].value}, "
        f"{row['environment'] or 'environment unknown'}, until {view.not_after:%Y-%m-%d} "
        f"({state}; {window}; revocation {row['revocation']}; "
        f"{len(row['encryption_keys'])} encryption keys). Keys: {keys}.",
        markup=False,
    )


def watch_command(
    ctx: typer.Context,
    *,
    keystore: Annotated[
        list[Path] | None,
        typer.Option("--keystore", metavar="FILE", help="A keystore to watch (repeatable)."),
    ] = None,
    keystore_dir: Annotated[
        Path | None,
        typer.Option(
            "--keystore-dir",
            metavar="DIR",
            help="Watch the newest keystore of each holder in this folder.",
        ),
    ] = None,
    password_file: PasswordFileOption = None,
    platform: OptionalPlatformOption = None,
    json_output: JsonOption = False,
) -> None:
    """Exit 1 with a warning when a certificate is in its renewal window, expired or revoked.

    For monitoring: run it daily; exit 0 means nothing needs attention.
    """
    if not keystore and keystore_dir is None:
        raise typer.BadParameter(
            "give --keystore FILE or --keystore-dir DIR", param_hint="'--keystore'"
        )
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        now = cert_runtime(ctx).clock.now()
        summaries = [read_summary(path, password, now) for path in keystore or []]
        if keystore_dir is not None:
            for item in find_keystores(keystore_dir):
                try:
                    summaries.append(read_summary(item.path, password, now))
                except EhcertError:
                    continue  # another holder's keystore, under another password
            summaries = newest_per_holder(summaries)
            if not summaries:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"No keystore in {keystore_dir} opens with this password.",
                    field="keystore_dir",
                )
        findings = [watch_finding(s, _status_of(ctx, platform, s)) for s in summaries]
        warnings = [f for f in findings if f.is_warning]
        if json_output:
            emit_json(
                {
                    "ok": not warnings,
                    "findings": [
                        {"keystore": f.keystore.path, "level": f.level, "message": f.message}
                        for f in findings
                    ],
                }
            )
        else:
            for finding in findings:
                console = stderr_console if finding.is_warning else stdout_console
                console.print(finding.message, markup=False)
        if warnings:
            raise typer.Exit(EXIT_FAILED)


def auto_renew_command(
    ctx: typer.Context,
    *,
    keystore: KeystoreOption,
    platform: Annotated[
        str,
        typer.Option("--platform", envvar="EHCERT_PLATFORM", metavar="URL", help="Platform URL."),
    ],
    password_file: PasswordFileOption = None,
    legacy_compatible: LegacyCompatibleOption = False,
    json_output: JsonOption = False,
) -> None:
    """Renew only inside the renewal window; otherwise do nothing and say why (exit 0).

    Safe to run daily: it follows earlier renewals (the newest keystore of the same
    holder in the folder is the one considered), so it renews once per certificate.
    Exit 1 when a person must act: expired or revoked certificate, or a refusal.
    """
    runtime = cert_runtime(ctx)
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        current = latest_keystore(keystore, password, runtime.clock.now())
        with platform_client(ctx, platform) as client:
            status = client.status(current.certificate.serial)
            decision = renewal_decision(current, status)
            if decision.needs_a_person:
                raise EhcertError(
                    ErrorKind.REVOKED
                    if decision.outcome is RenewalOutcome.REVOKED
                    else ErrorKind.CERTIFICATE_EXPIRED,
                    decision.reason,
                )
            new_path = None
            if decision.outcome is RenewalOutcome.RENEW:
                new_path = renew_certificate(
                    client,
                    current.path,
                    password,
                    runtime.clock.now(),
                    legacy_compatible=legacy_compatible,
                )
        if json_output:
            emit_json(
                {
                    "outcome": decision.outcome,
                    "keystore": current.path,
                    "new_keystore": new_path,
                    "reason": decision.reason,
                }
            )
        elif new_path is not None:
            stdout_console.print(f"Renewed: the new keystore is {new_path}.", markup=False)
        else:
            stdout_console.print(decision.reason, markup=False)
        warn_legacy(legacy_compatible and new_path is not None)
