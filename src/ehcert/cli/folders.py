"""The one check every ``ehcert admin`` command makes before it opens a data directory."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.settings import Environment


def require_platform_folder(data_dir: Path, db: str | None) -> None:
    """Refuse, creating nothing, a folder that holds no platform (``admin init`` makes one).

    With SQLite (no ``--db``) the database lives in the folder, so a mistyped folder
    would otherwise silently become a new, empty platform.
    """
    pki = data_dir / "pki"
    initialised = pki.is_dir() and any(
        (pki / env / "issuing.crt").is_file() for env in get_args(Environment)
    )
    if db is None and not initialised:
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"{data_dir} holds no ehcert platform; name its folder with --data-dir or "
            "EHCERT_DATA_DIR, or create one with 'ehcert admin init'.",
            field="data_dir",
        )
