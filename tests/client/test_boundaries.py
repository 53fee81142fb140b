"""The client SDK and the Certificate Manager work without the server installed.

DESIGN.md: client/ never imports ehcert.store, registry, ra, ca or api, and the manager
never talks to the database. Checked in a fresh interpreter, where every module the
imports pull in, directly or not, shows up in ``sys.modules``. The ``ehcert`` command
itself loads the platform's commands (``cli.serve``, ``cli.admin``) only when one of them
is run, so starting it for ``cert``, ``seal`` or ``unseal`` loads no server module either
(``lint-imports`` checks the same statically).
"""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_PACKAGES = (
    "ehcert.store",
    "ehcert.registry",
    "ehcert.ra",
    "ehcert.ca",
    "ehcert.api",
    "ehcert.platform",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "alembic",
    "psycopg",
    "pydantic",
    "pkilint",
    "ehcert.cli.admin",
    "ehcert.cli.serve",
    "ehcert.settings",
    "ehcert.pki.lint",
)


def test_client_manager_and_cert_cli_load_no_server_module() -> None:
    probe = (
        "import json, sys\n"
        "import ehcert.client.platform, ehcert.client.keys\n"
        "import ehcert.manager.certificates, ehcert.manager.secrets, ehcert.cli.cert\n"
        "import ehcert.manager.messages, ehcert.cli.main\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    offending = [
        m
        for m in loaded
        if m.split(".")[0] in SERVER_PACKAGES
        or any(m == p or m.startswith(p + ".") for p in SERVER_PACKAGES)
    ]
    assert offending == []
    assert "ehcert.client.platform" in loaded
    assert "ehcert.cli.main" in loaded
