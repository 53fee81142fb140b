"""Where keystore passwords and eID PINs come from: a file or a hidden prompt, never argv.

A secret given as a command-line argument is visible to every user of the machine
(``/proc/<pid>/cmdline``, ``ps``) and lands in shell history, so the Certificate Manager
offers no such option. Scripts hand secrets over in a file (readable by its owner only,
the way ``openssl ... -passin file:`` and ``docker login --password-stdin`` do it);
people type them at a prompt that does not echo.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ehcert.core.errors import EhcertError, ErrorKind


def read_secret(file: Path | None, prompt: str, *, confirm: bool = False) -> str:
    """Return the secret from the first line of ``file``, or ask for it without echo.

    Only the first line counts and its line ending (``\\n`` or ``\\r\\n``) is dropped, so
    ``echo secret > file`` works; other whitespace is kept because it may be part of the
    password. A missing, unreadable or empty file is refused with a sentence naming the
    file: falling back to a prompt would hang an unattended script. ``confirm`` asks
    twice at the prompt (for a new keystore's password); it does not apply to files.
    End of input at the prompt (no terminal, Ctrl-D, Ctrl-C) is a refusal, not a hang.
    """
    if not prompt:
        raise ValueError("prompt must name the secret, e.g. 'Keystore password'")
    name = prompt[:1].lower() + prompt[1:]  # "Keystore password" -> "keystore password"
    if file is None:
        try:
            answer: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
        except typer.Abort:
            # End of input or Ctrl-C: nobody is there to type the secret.
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"No {name} was typed; give it in a file when no one is at the terminal.",
            ) from None
        if not answer:
            raise EhcertError(ErrorKind.MALFORMED, f"The {name} is empty.")
        return answer
    what = f"{name} file {file}"
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise EhcertError(ErrorKind.MALFORMED, f"The {what} does not exist.") from None
    except IsADirectoryError:
        raise EhcertError(ErrorKind.MALFORMED, f"The {what} is a directory.") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EhcertError(ErrorKind.MALFORMED, f"The {what} cannot be read: {reason}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EhcertError(ErrorKind.MALFORMED, f"The {what} is not UTF-8 text.") from None
    first_line = text.split("\n", 1)[0].removesuffix("\r")
    if not first_line:
        raise EhcertError(ErrorKind.MALFORMED, f"The {what} is empty on its first line.")
    return first_line
