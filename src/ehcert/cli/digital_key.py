"""The ``--digital-key USER`` options of ``ehcert cert request|renew|revoke``.

A person without a Belgian eID proves who they are with the digital key a registration
office issued (the hybrid method, docs/foreign-providers.md): username, password and
the current code of their authenticator app. As every secret of the command line, the
password and the code come from a hidden prompt or from a file named by an option
(``--digital-key-password-file``, ``--code-file``: the first line), never from an
argument. A code is accepted once, so a script writes a fresh one for each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehcert.client.platform import DigitalKeyLogin
from ehcert.manager.secrets import read_secret

DigitalKeyOption = Annotated[
    str | None,
    typer.Option(
        "--digital-key",
        metavar="USER",
        help="Prove who you are with the digital key USER from a registration office "
        "(no Belgian eID); password and code are prompted, or read from files.",
    ),
]
DigitalKeyPasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--digital-key-password-file",
        metavar="FILE",
        help="File whose first line is the digital key's password; prompted otherwise.",
    ),
]
CodeFileOption = Annotated[
    Path | None,
    typer.Option(
        "--code-file",
        metavar="FILE",
        help="File whose first line is the authenticator app's current code; prompted "
        "otherwise (a code is accepted once).",
    ),
]


def read_login(
    username: str, password_file: Path | None, code_file: Path | None
) -> DigitalKeyLogin:
    """The digital key's login: the password, then the code (read last, so it is as
    fresh as it can be when the request goes out)."""
    password = read_secret(password_file, f"Password of digital key {username}")
    code = read_secret(code_file, "Code from your authenticator app").replace(" ", "")
    return DigitalKeyLogin(username, password, code)


def refuse_stray_files(
    username: str | None, password_file: Path | None, code_file: Path | None
) -> None:
    """``--digital-key-password-file`` and ``--code-file`` mean nothing without the key."""
    if username is None and (password_file is not None or code_file is not None):
        raise typer.BadParameter(
            "--digital-key-password-file and --code-file go with --digital-key USER",
            param_hint="'--digital-key'",
        )
