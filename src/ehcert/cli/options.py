"""What the ``ehcert`` commands share: option types, the caller's runtime, the platform
client and the progress spinner.

The option types keep one spelling and one help text per option across ``cert``,
``etk``, ``seal`` and ``sts``. Secrets are never options: ``--password-file`` and
``--pin-file`` name a file, and without one :mod:`ehcert.manager.secrets` prompts.

The clock and the HTTP transport come from a :class:`CertRuntime` in the Click context
object when a caller (an in-process test, an embedding program) provides one; otherwise
the system clock and plain HTTP are used. That keeps test hooks out of the command line.

``--legacy-compatible`` writes a keystore with the legacy algorithms older Java readers
need (:func:`ehcert.pki.keystore.dump_keystore`); the command then prints
:data:`LEGACY_WARNING` on stderr once it succeeded (:func:`warn_legacy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from typer.core import TyperCommand

from ehcert.cli.output import stderr_console
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import Clock, SystemClock
from ehcert.manager.keystore_steps import Progress, Step


@dataclass(frozen=True)
class CertRuntime:
    """What the commands take from their caller rather than from the command line."""

    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.BaseTransport | None = None


def cert_runtime(ctx: typer.Context) -> CertRuntime:
    """The caller's :class:`CertRuntime`, or the system clock and plain HTTP."""
    found = ctx.find_object(CertRuntime)
    return found if found is not None else CertRuntime()


def platform_client(ctx: typer.Context, platform: str) -> PlatformClient:
    """A client for ``platform``; a URL that is no http(s) URL is a usage error (exit 2)."""
    try:
        return PlatformClient(platform, transport=cert_runtime(ctx).transport)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--platform'") from None


_STEP_TEXT = {
    Step.GENERATING_KEY: "Generating new authentication and encryption key pairs",
    Step.REQUESTING: "Asking the platform for the certificate",
    Step.WRITING_KEYSTORE: "Writing the keystore",
    Step.REGISTERING_ETK: "Publishing the encryption key's ETK",
}


@contextmanager
def spinner() -> Iterator[Progress]:
    """A spinner on stderr that names the current step (silent when stderr is no terminal)."""
    with stderr_console.status("Starting") as status:

        def progress(step: Step) -> None:
            status.update(_STEP_TEXT[step])

        yield progress


PlatformOption = Annotated[
    str,
    typer.Option(
        "--platform",
        envvar="EHCERT_PLATFORM",
        metavar="URL",
        help="Platform URL, e.g. http://127.0.0.1:8080 (or EHCERT_PLATFORM).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.")
]
KeystoreOption = Annotated[
    Path, typer.Option("--keystore", metavar="FILE", help="The eHealth keystore (PKCS#12).")
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        metavar="FILE",
        help="File whose first line is the keystore password; prompted otherwise.",
    ),
]
PinFileOption = Annotated[
    Path | None,
    typer.Option(
        "--pin-file",
        metavar="FILE",
        help="File whose first line is the eID PIN (or PKCS#12 password); prompted otherwise.",
    ),
]
EidOption = Annotated[
    Path | None,
    typer.Option(
        "--eid",
        metavar="FILE.p12",
        help="eID authentication key and certificate in a PKCS#12 file.",
    ),
]
EidPkcs11Option = Annotated[
    str | None,
    typer.Option(
        "--eid-pkcs11",
        metavar="[MODULE]",
        help="Use the eID card in a reader. Alone, the eID middleware is found by itself "
        "(standard locations, or EHCERT_EID_PKCS11); or name its PKCS#11 module "
        "(e.g. libbeidpkcs11.so).",
    ),
]
DETECTED_MODULE = "auto"
"""The value a bare ``--eid-pkcs11`` stands for: find the eID middleware by itself."""


class OptionalModuleCommand(TyperCommand):
    """A command whose ``--eid-pkcs11`` may be given without a value.

    Typer options always take their value, so a bare ``--eid-pkcs11`` (last, or followed
    by another option) is read as ``--eid-pkcs11=auto`` before parsing.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a Click context
        spelled: list[str] = []
        for index, arg in enumerate(args):
            following = args[index + 1] if index + 1 < len(args) else None
            if arg == "--eid-pkcs11" and (following is None or following.startswith("-")):
                spelled.append(f"--eid-pkcs11={DETECTED_MODULE}")
            else:
                spelled.append(arg)
        return super().parse_args(ctx, spelled)


TokenLabelOption = Annotated[
    str | None,
    typer.Option(
        "--token-label",
        metavar="LABEL",
        help="Label of the card (PKCS#11 token); only needed when several cards are in readers.",
    ),
]
KeyLabelOption = Annotated[
    str,
    typer.Option(
        "--key-label",
        metavar="LABEL",
        help="Label of the authentication key and certificate on the token.",
    ),
]
LegacyCompatibleOption = Annotated[
    bool,
    typer.Option(
        "--legacy-compatible",
        help="Write the keystore with legacy encryption (3DES, SHA-1 MAC) for older Java "
        "readers; weaker than the default.",
    ),
]
LEGACY_WARNING = (
    "The keystore uses legacy encryption (3DES, SHA-1 MAC) that older Java readers need; "
    "it is weaker than the default."
)


def warn_legacy(legacy_compatible: bool) -> None:
    """The one-line warning on stderr after a keystore was written in legacy mode."""
    if legacy_compatible:
        typer.echo(LEGACY_WARNING, err=True)
