"""``ehcert admin crl publish`` and ``ehcert admin ca rotate``: the CA's operator ceremonies.

These are the commands that may open a root key (``ca.ceremonies``): re-signing the root
CRLs (``crl publish --root``) and re-keying the issuing CA (``ca rotate issuing``).
Rotating a service role (``ocsp``, ``sts``, ``etk-depot``, ``trust-list``) needs only the
issuing key. Every rotation ends with a new signed trust list (``ca.trust_list``).
``ehcert admin init``, the first ceremony, lives with the other admin commands.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.folders import require_platform_folder
from ehcert.cli.output import emit_json, exits_on_error, stdout_console
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.settings import Environment, load_settings

crl_app = typer.Typer(no_args_is_help=True, help="Certificate revocation lists.")
ca_app = typer.Typer(no_args_is_help=True, help="CA key ceremonies (rotation).")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="EHCERT_DATA_DIR", help="Platform data directory.")
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Db = Annotated[str | None, typer.Option("--db", envvar="EHCERT_DB", help="Database URL.")]
EnvOption = Annotated[
    Environment | None, typer.Option("--environment", help="acceptance or production.")
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@crl_app.command("publish")
@exits_on_error
def crl_publish(
    out_dir: Annotated[Path | None, typer.Option(help="Default: DATA_DIR/crl.")] = None,
    root: Annotated[
        bool,
        typer.Option(
            "--root",
            help="First re-sign the root CRLs with the root keys (a ceremony: the root "
            "key must be present).",
        ),
    ] = False,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Sign fresh CRLs now and write them as DER files.

    The issuing and citizen CAs' CRLs are signed with their online keys; the roots' CRLs
    are copied from the CA folder, where ``--root`` re-signs them first.
    """
    from ehcert.platform import Platform, ca_directory, key_backend

    require_platform_folder(data_dir, None)
    settings = load_settings(data_dir=data_dir, db=db)
    if root:
        from ehcert.ca.ceremonies import publish_root_crls

        publish_root_crls(ca_directory(settings), key_backend(settings), _now())
    platform = Platform.open(settings, initialise=False)
    target = out_dir or settings.data_dir / "crl"
    target.mkdir(parents=True, exist_ok=True)
    env = settings.environment
    names = [env, f"{env}-root"] + (
        [f"{env}-eid", f"{env}-eid-root"] if platform.hierarchy.eid_ca else []
    )
    written = []
    for name in names:
        path = target / f"{name}.crl"
        path.write_bytes(platform.crl(name, force=True))
        written.append(str(path))
    platform.database.dispose()
    if json_output:
        emit_json({"crls": written})
    else:
        stdout_console.print(f"Published {len(written)} CRLs in {target}.")


@ca_app.command("rotate")
@exits_on_error
def ca_rotate(
    role: Annotated[str, typer.Argument(help="issuing, ocsp, sts, etk-depot or trust-list.")],
    data_dir: DataDir = Path("data"),
    environment: EnvOption = None,
    json_output: Json = False,
) -> None:
    """Re-key one CA role: a new key under the next generation and a new certificate.

    Rotating the issuing CA needs the root key and re-issues the OCSP, STS and ETK depot
    certificates under it; the other roles need the issuing key. Running API processes
    take up a new OCSP responder by themselves; restart them after the other rotations.
    """
    from ehcert.ca.ceremonies import rotate
    from ehcert.ca.credentials import PublicUrls
    from ehcert.ca.hierarchy import is_initialised
    from ehcert.platform import ca_directory, key_backend

    require_platform_folder(data_dir, None)
    settings = load_settings(data_dir=data_dir, environment=environment)
    if not is_initialised(settings.data_dir, settings.environment):
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"{settings.data_dir} holds no {settings.environment} CA hierarchy; run "
            "'ehcert admin init' first.",
        )
    made = rotate(
        ca_directory(settings),
        key_backend(settings),
        role,
        PublicUrls(settings.base_url, settings.environment),
        environment=settings.environment,
        now=_now(),
    )
    rotated = [
        {
            "role": item.role,
            "generation": item.generation,
            "serial": format(item.certificate.serial_number, "x"),
            "not_after": item.certificate.not_valid_after_utc.isoformat(),
        }
        for item in made
    ]
    if json_output:
        emit_json({"rotated": rotated})
    else:
        done = ", ".join(f"{item.role} (generation {item.generation})" for item in made)
        stdout_console.print(f"Rotated {done}.")
