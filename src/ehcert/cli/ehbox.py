"""``ehcert ehbox``: the eHealthBox from the command line, on the SDK (``client.ehbox``).

- ``send --keystore K --to SSIN=...[:doctor] [--to NIHII-HOSPITAL=...] [--cc ...]
  --title T [--annex FILE ...] [--receipt publication|received|read] [--important]
  FILE``: seals FILE and every annex for each recipient's ETK and the sender's own,
  and sends them; a recipient out of office is reported (exit 1) with the period and
  the substitutes, and ``--ooo-acknowledged`` sends anyway;
- ``list [--box ...] [--folder INBOX] [--all] [--json]``: one page of a folder;
- ``get ID --out DIR``: unseals every part into DIR and reports the sender and, per
  part, the data and trust verdicts; a part whose data is not valid exits 1;
- ``move ID... --from F --to F``, ``delete ID... --folder F`` (from a bin: for good),
  ``ack-status ID``, ``info``, ``ooo set|list|clear``.

Exit codes and ``--json`` follow :mod:`ehcert.cli.output`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.options import (
    JsonOption,
    KeystoreOption,
    PasswordFileOption,
    PlatformOption,
    cert_runtime,
)
from ehcert.cli.output import emit_json, reported_errors, stdout_console
from ehcert.client.ehbox import EhboxClient, RecipientsOutOfOffice
from ehcert.client.ehbox_messages import RECEIPTS, Annex, Draft, OpenedMessage
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.secrets import read_secret
from ehcert.pki.files import write_private_file
from ehcert.pki.keystore import read_keystore_file

ehbox_app = typer.Typer(
    name="ehbox",
    help="The eHealthBox: send, list and read sealed messages.",
    no_args_is_help=True,
    add_completion=False,
)
ooo_app = typer.Typer(name="ooo", help="Out-of-office periods.", no_args_is_help=True)
ehbox_app.add_typer(ooo_app, name="ooo")

BoxOption = Annotated[
    str | None,
    typer.Option("--box", metavar="BOX", help="Another of your boxes, e.g. NIHII-HOSPITAL=..."),
]
FolderOption = Annotated[
    str, typer.Option("--folder", metavar="FOLDER", help="INBOX, SENTBOX, BININBOX, BINSENTBOX.")
]
MIME_TYPES = {
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".html": "text/html",
}


def _mime(path: Path) -> str:
    return MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")


@contextmanager
def _client(
    ctx: typer.Context, platform: str, keystore: Path, password_file: Path | None
) -> Iterator[EhboxClient]:
    runtime = cert_runtime(ctx)
    password = read_secret(password_file, "Keystore password")
    store = read_keystore_file(keystore, password)
    try:
        client = EhboxClient(platform, store, clock=runtime.clock, transport=runtime.transport)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--platform'") from None
    with client:
        yield client


def _read(path: Path, option: str) -> bytes:
    if not path.is_file():
        raise EhcertError(ErrorKind.NOT_FOUND, f"The file {path} given as {option} does not exist.")
    return path.read_bytes()


@ehbox_app.command("send")
def send(
    ctx: typer.Context,
    document: Annotated[Path, typer.Argument(metavar="FILE", help="The document to send.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    title: Annotated[str, typer.Option("--title", help="The title, sent in clear (1-400).")],
    to: Annotated[
        list[str] | None, typer.Option("--to", metavar="BOX", help="Recipient; repeatable.")
    ] = None,
    cc: Annotated[
        list[str] | None, typer.Option("--cc", metavar="BOX", help="Copy to; repeatable.")
    ] = None,
    annex: Annotated[
        list[Path] | None, typer.Option("--annex", metavar="FILE", help="Annex; repeatable.")
    ] = None,
    receipt: Annotated[
        list[str] | None,
        typer.Option("--receipt", metavar="KIND", help="publication, received or read."),
    ] = None,
    important: Annotated[bool, typer.Option("--important", help="Mark as important.")] = False,
    ooo_acknowledged: Annotated[
        bool,
        typer.Option("--ooo-acknowledged", help="Send even to recipients out of office."),
    ] = False,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Seal FILE (and its annexes) for every recipient and yourself, and send it."""
    if not to and not cc:
        raise typer.BadParameter("name a recipient", param_hint="'--to'")
    for kind in receipt or []:
        if kind not in RECEIPTS:
            raise typer.BadParameter(f"use one of {', '.join(RECEIPTS)}", param_hint="'--receipt'")
    with reported_errors(json_output=json_output):
        annexes = [Annex(p.name, _read(p, "--annex"), p.name, _mime(p)) for p in annex or []]
        draft = Draft(
            recipients=to or [],
            copies=cc or [],
            title=title,
            content=_read(document, "FILE"),
            download_file_name=document.name,
            mime_type=_mime(document),
            annexes=annexes,
            receipts=frozenset(receipt or []),
            important=important,
            sender_box=box,
        )
        with _client(ctx, platform, keystore, password_file) as client:
            try:
                sent = client.send(draft, ooo_acknowledged=ooo_acknowledged)
            except RecipientsOutOfOffice as absent:
                if json_output:
                    emit_json({"out_of_office": absent.recipients})
                raise EhcertError(
                    absent.kind,
                    absent.detail.replace(
                        "Send again with", "Use --ooo-acknowledged, or send again with"
                    ),
                ) from None
    if json_output:
        emit_json(sent)
        return
    stdout_console.print(
        f"Sent message {sent['message_id']} to {', '.join(sent['recipients'])}; "
        f"it expires on {sent['expires_at'][:10]}.",
        markup=False,
    )


@ehbox_app.command("list")
def list_messages(
    ctx: typer.Context,
    platform: PlatformOption,
    keystore: KeystoreOption,
    folder: FolderOption = "INBOX",
    box: BoxOption = None,
    all_boxes: Annotated[bool, typer.Option("--all", help="Every box you may use.")] = False,
    start: Annotated[int, typer.Option("--start", min=1, help="First index (from 1).")] = 1,
    end: Annotated[int, typer.Option("--end", min=1, help="Last index (at most 100 more).")] = 100,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """One page of a folder, newest first, with each message's expiration date."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        listing = client.messages(
            folder.upper(), box=box, start=start, end=end, all_boxes=all_boxes
        )
    if json_output:
        emit_json(listing)
        return
    stdout_console.print(
        f"{listing['source']}: messages {listing['start_index']}-"
        f"{min(listing['end_index'], listing['total'])} of {listing['total']}",
        markup=False,
    )
    for message in listing["messages"]:
        flag = "!" if (message["content_specification"] or {}).get("important") else " "
        stdout_console.print(
            f"{flag} {message['message_id']}  {message['message_info']['publication_date']}  "
            f"{message['sender']['name']}  {message['content_info']['title']}  "
            f"(expires {message['message_info']['expiration_date']})",
            markup=False,
        )


def _safe_name(name: str, fallback: str) -> str:
    cleaned = Path(name).name.strip()
    return cleaned if cleaned and cleaned not in (".", "..") else fallback


def _write_opened(opened: OpenedMessage, out: Path) -> list[str]:
    """Write every opened part into ``out``; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    metadata = opened.metadata

    def put(name: str, data: bytes | None) -> None:
        if data is not None:
            write_private_file(out / name, data)
            written.append(name)

    put(
        _safe_name(metadata["document"]["download_file_name"], "document"),
        opened.part("document").content,
    )
    names = {p.name for p in opened.parts}
    if "free-text" in names:
        put("free-text.txt", opened.part("free-text").content)
    if "patient" in names:
        put("patient.txt", opened.part("patient").content)
    rows = int(metadata.get("table_rows") or 0)
    if rows:
        table = [
            [opened.text(f"table/{r}/left"), opened.text(f"table/{r}/right")] for r in range(rows)
        ]
        put("table.json", json.dumps(table, indent=2).encode())
    for index, annex in enumerate(metadata.get("annexes", [])):
        put(
            _safe_name(annex["download_file_name"], f"annex-{index}"),
            opened.part(f"annex/{index}/content").content,
        )
    return written


@ehbox_app.command("get")
def get(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message id.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Where the parts go.")],
    folder: FolderOption = "INBOX",
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Unseal a message into DIR; report its sender and each part's verdicts."""
    with reported_errors(json_output=json_output):
        with _client(ctx, platform, keystore, password_file) as client:
            opened = client.get(message_id, folder=folder.upper(), box=box)
        written = _write_opened(opened, out)
        result: dict[str, Any] = {
            "message_id": opened.message_id,
            "title": opened.title,
            "sender": opened.sender,
            "files": written,
            "parts": [p.to_dict() for p in opened.parts],
        }
        bad = [p for p in opened.parts if not p.data_valid]
        if json_output:
            emit_json(result)
        else:
            stdout_console.print(
                f"Message {opened.message_id} from {opened.sender['name']} "
                f"({opened.sender['box']}): {opened.title}",
                markup=False,
            )
            for part in opened.parts:
                data = "data valid" if part.data_valid else "DATA NOT VALID"
                trust = "trusted" if part.trusted else "NOT TRUSTED"
                stdout_console.print(f"  {part.name}: {data}, {trust}", markup=False)
                for issue in part.report.trust.issues if part.report else ():
                    stdout_console.print(f"    warning: {issue.detail}", markup=False)
            stdout_console.print(f"Written to {out}: {', '.join(written)}", markup=False)
        if bad:
            reasons = "; ".join(
                p.problem or "; ".join(i.detail for i in (p.report.data.issues if p.report else ()))
                for p in bad
            )
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"{len(bad)} part(s) of message {message_id} did not open: {reasons}",
            )


@ehbox_app.command("move")
def move(
    ctx: typer.Context,
    message_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Message ids.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    source: Annotated[str, typer.Option("--from", metavar="FOLDER", help="Where they are.")],
    destination: Annotated[str, typer.Option("--to", metavar="FOLDER", help="Where they go.")],
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Move messages to their bin, or back."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        moved = client.move(
            message_ids, source=source.upper(), destination=destination.upper(), box=box
        )
    if json_output:
        emit_json({"message_ids": moved})
    else:
        stdout_console.print(
            f"Moved {len(moved)} message(s) to {destination.upper()}.", markup=False
        )


@ehbox_app.command("delete")
def delete(
    ctx: typer.Context,
    message_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Message ids.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    folder: FolderOption = "INBOX",
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete messages: into the bin, or for good from a bin."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        deleted = client.delete(message_ids, source=folder.upper(), box=box)
    if json_output:
        emit_json({"message_ids": deleted})
    else:
        final = folder.upper().startswith("BIN")
        stdout_console.print(
            f"Deleted {len(deleted)} message(s)" + (" for good." if final else " into the bin."),
            markup=False,
        )


@ehbox_app.command("ack-status")
def ack_status(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(metavar="ID", help="A message you sent.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """The receipts of a sent message, one row per recipient."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        status = client.acknowledgments(message_id, box=box)
    if json_output:
        emit_json(status)
        return
    for row in status["rows"]:
        stdout_console.print(
            f"{row['recipient']}: published {row['published'] or '-'}, "
            f"received {row['received'] or '-'}, read {row['read'] or '-'}",
            markup=False,
        )


@ehbox_app.command("info")
def info(
    ctx: typer.Context,
    platform: PlatformOption,
    keystore: KeystoreOption,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Your box's size, quota and messages waiting; and the boxes you may use."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        found = client.box_info(box=box)
    if json_output:
        emit_json(found)
        return
    stdout_console.print(
        f"{found['box']}: {found['current_size']} of {found['max_size']} bytes used, "
        f"{found['messages_waiting']} message(s) waiting; your boxes: {', '.join(found['boxes'])}",
        markup=False,
    )


@ooo_app.command("set")
def ooo_set(
    ctx: typer.Context,
    platform: PlatformOption,
    keystore: KeystoreOption,
    start: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", help="First day away.")],
    end: Annotated[str, typer.Option("--until", metavar="YYYY-MM-DD", help="Last day away.")],
    substitute: Annotated[
        list[str] | None, typer.Option("--substitute", metavar="BOX", help="Repeatable.")
    ] = None,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Set an out-of-office period, with substitutes."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        found = client.set_out_of_office(start, end, substitute or [], box=box)
    if json_output:
        emit_json(found)
    else:
        stdout_console.print(
            f"Out of office {found['ooo_id']}: {found['start_date']} to {found['end_date']}.",
            markup=False,
        )


@ooo_app.command("list")
def ooo_list(
    ctx: typer.Context,
    platform: PlatformOption,
    keystore: KeystoreOption,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Your out-of-office periods."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        found = client.out_of_office(box=box)
    if json_output:
        emit_json({"ooo": found})
        return
    for item in found:
        who = ", ".join(item["substitutes"]) or "no substitute"
        stdout_console.print(
            f"{item['ooo_id']}: {item['start_date']} to {item['end_date']} ({who})", markup=False
        )


@ooo_app.command("clear")
def ooo_clear(
    ctx: typer.Context,
    ooo_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Periods to remove.")],
    platform: PlatformOption,
    keystore: KeystoreOption,
    box: BoxOption = None,
    password_file: PasswordFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove out-of-office periods."""
    with (
        reported_errors(json_output=json_output),
        _client(ctx, platform, keystore, password_file) as client,
    ):
        cleared = client.clear_out_of_office(ooo_ids, box=box)
    if json_output:
        emit_json({"ooo_ids": cleared})
    else:
        stdout_console.print(f"Removed {len(cleared)} out-of-office period(s).", markup=False)
