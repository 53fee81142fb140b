"""``ehcert sts token``: get a SAML session token from the platform's STS.

Signs the request with the keystore's authentication key (the key never leaves the
machine), verifies the assertion the STS returns (:func:`ehcert.client.sts.verify_assertion`)
and writes it to ``--out``, readable by the owner only: a holder-of-key token is useless
without the key, but it still names the holder and their attributes. The STS certificate
comes from the trust store's list when it holds one
(:func:`ehcert.cli.trust.held_trust_list`). Exit codes and ``--json`` follow
:mod:`ehcert.cli.output`; ``--json`` lists the attributes granted and the validity.

The clock and the HTTP transport come from a :class:`~ehcert.cli.options.CertRuntime` in the
Click context when a caller provides one, as for ``ehcert cert``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    PasswordFileOption,
    PlatformOption,
    cert_runtime,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.cli.trust import held_trust_list
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.sts import SamlToken, StsClient
from ehcert.manager.secrets import read_secret
from ehcert.pki.files import write_private_file
from ehcert.pki.keystore import read_keystore_file

sts_app = typer.Typer(
    name="sts",
    help="Session tokens from the platform's security token service.",
    no_args_is_help=True,
    add_completion=False,
)

AttributeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--attribute",
        metavar="NAME",
        help="Attribute designator to ask for (repeatable), e.g. "
        "urn:be:fgov:person:ssin:doctor:boolean; default: the holder's identifiers.",
    ),
]
OutOption = Annotated[
    Path, typer.Option("--out", metavar="FILE", help="Where to write the SAML assertion.")
]
ValidityOption = Annotated[
    int | None,
    typer.Option(
        "--validity-hours",
        min=1,
        metavar="HOURS",
        help="Ask for this validity; the STS's default otherwise, within its maximum.",
    ),
]


def token_summary(token: SamlToken, out: Path) -> dict[str, object]:
    """What ``--json`` prints: where the token is, its validity and its attributes."""
    return {
        "out": out,
        "assertion_id": token.assertion_id,
        "issuer": token.issuer,
        "subject": token.subject,
        "not_before": token.not_before,
        "not_on_or_after": token.not_on_or_after,
        "attributes": [
            {"name": a.name, "namespace": a.namespace, "value": a.value} for a in token.attributes
        ],
    }


@sts_app.command("token")
def token(
    ctx: typer.Context,
    platform: PlatformOption,
    keystore: KeystoreOption,
    out: OutOption,
    password_file: PasswordFileOption = None,
    attribute: AttributeOption = None,
    validity_hours: ValidityOption = None,
    json_output: JsonOption = False,
) -> None:
    """Get a SAML holder-of-key token signed by the STS and write it to --out."""
    runtime = cert_runtime(ctx)
    with reported_errors(json_output=json_output):
        password = read_secret(password_file, "Keystore password")
        entry = read_keystore_file(keystore, password).authentication()
        signer = KeyEntryRequestSigner(entry)
        # The STS certificate from the trust list when the trust store holds one (it
        # follows an STS or issuing CA rotation); otherwise checked against the keystore.
        listed = held_trust_list(ctx, None, platform)
        listed_sts = listed.of_role("sts") if listed is not None else ()
        with StsClient(
            platform,
            signer,
            clock=runtime.clock,
            transport=runtime.transport,
            sts_certificate=listed_sts[0].certificate if listed_sts else None,
        ) as client:
            issued = client.request_token(attribute or (), validity_hours)
        write_private_file(out, issued.xml)
    if json_output:
        emit_json(token_summary(issued, out))
        return
    stdout_console.print(f"Token written to {out}", markup=False)
    stdout_console.print(
        f"Valid from {issued.not_before:%Y-%m-%d %H:%M:%S} to "
        f"{issued.not_on_or_after:%Y-%m-%d %H:%M:%S} UTC",
        markup=False,
    )
    for granted in issued.attributes:
        value = str(granted.value).lower() if isinstance(granted.value, bool) else granted.value
        stdout_console.print(f"  {granted.name} = {value}", markup=False)
