"""Extract, check and compile the UI's gettext catalogs with Babel.

``python -m ehcert.manager.web.catalogs extract`` lists every message of the templates
(Jinja2's own extractor) and of the Python modules (``_()`` and ``N_()`` calls, found
with :mod:`ast`) and adds the missing ones to each ``.po`` with an empty translation;
``compile`` writes the ``.mo`` files; ``check`` exits 1 when a catalog lacks a
translation or a ``.mo`` is stale. Reading and writing PO files and compiling them to
GNU MO files is Babel's (``babel.messages.pofile``, ``babel.messages.mofile``), the
tool Python projects use for this, rather than a format reader of our own. Babel is
needed only here, when catalogs change; the running UI reads the ``.mo`` files with the
standard library's :mod:`gettext`.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po as babel_read_po
from babel.messages.pofile import write_po as babel_write_po
from jinja2 import Environment

from ehcert import __version__
from ehcert.manager.web.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR, TEMPLATE_DIR

PACKAGE_DIR = Path(__file__).parent
CATALOG_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""The date written into every catalog's header: fixed, so that compiling the same
translations always gives the same bytes and a stale ``.mo`` can be told by comparison."""
PO_HEADER = (
    "Project-Id-Version: ehcert\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Language: {language}\n"
)


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return babel_read_po(handle, abort_invalid=True)


def read_po(path: Path) -> dict[str, str]:
    """The ``msgid -> msgstr`` pairs of a PO file (the header under key ``""``)."""
    catalog = _catalog(path)
    entries: dict[str, str] = {}
    header = next((m for m in catalog if m.id == ""), None)
    entries[""] = str(header.string) if header is not None else ""
    for message in catalog:
        if message.id:
            entries[str(message.id)] = str(message.string or "")
    return entries


def _language_of(path: Path) -> str:
    return path.parent.parent.name


def write_po(path: Path, entries: dict[str, str]) -> None:
    """Write ``entries`` (in the given order, header from the language) as a PO file."""
    language = _language_of(path)
    catalog = Catalog(
        locale=language,
        domain=DOMAIN,
        header_comment=f"# Messages of the ehcert Certificate Manager's web UI ({language}).",
        project="ehcert",
        version=__version__,
        copyright_holder="ehcert",
        msgid_bugs_address="ehcert",
        last_translator="ehcert",
        language_team=language,
        creation_date=CATALOG_DATE,
        revision_date=CATALOG_DATE,
        fuzzy=False,
    )
    for msgid, msgstr in entries.items():
        if msgid:
            catalog.add(msgid, msgstr)
    with path.open("wb") as handle:
        babel_write_po(handle, catalog, width=0, omit_header=False, sort_output=False)


def mo_bytes(po_file: Path) -> bytes:
    """The GNU MO file of a PO file's translations (header included), compiled by Babel."""
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(po_file))
    return buffer.getvalue()


def _python_messages(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_", "N_"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return found


def extract_messages() -> list[str]:
    """Every message of the templates and Python modules, in first-seen order."""
    # Only parsed for extraction, never rendered: autoescaping does not apply.
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    messages: list[str] = []
    for template in sorted(TEMPLATE_DIR.glob("*.html")):
        for _line, _function, message in env.extract_translations(  # type: ignore[attr-defined]
            template.read_text(encoding="utf-8")
        ):
            # Keyword arguments (new-style placeholders) make the message a tuple.
            first = message[0] if isinstance(message, tuple) else message
            if isinstance(first, str):
                messages.append(first)
    for module in sorted(PACKAGE_DIR.glob("*.py")):
        messages.extend(_python_messages(module))
    return list(dict.fromkeys(messages))


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def translated_languages() -> tuple[str, ...]:
    return LANGUAGES


def problems() -> list[str]:
    """Missing or empty translations and stale ``.mo`` files, one line each."""
    wanted = extract_messages()
    found: list[str] = []
    for language in translated_languages():
        entries = read_po(po_path(language))
        found += [
            f"{language}: no translation for {message!r}"
            for message in wanted
            if not entries.get(message)
        ]
        if not mo_path(language).exists() or mo_path(language).read_bytes() != mo_bytes(
            po_path(language)
        ):
            found.append(f"{language}: {mo_path(language)} is stale; run 'compile'")
    return found


def main(argv: list[str]) -> int:
    """``extract`` | ``compile`` | ``check`` (see the module docstring)."""
    command = argv[0] if argv else "check"
    if command == "extract":
        wanted = extract_messages()
        for language in translated_languages():
            path = po_path(language)
            entries = read_po(path) if path.exists() else {}
            entries.setdefault("", PO_HEADER.format(language=language))
            kept = {"": entries[""]}
            source = language == DEFAULT_LANGUAGE
            kept.update(
                {message: entries.get(message) or (message if source else "") for message in wanted}
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            write_po(path, kept)
        return 0
    if command == "compile":
        for language in translated_languages():
            mo_path(language).write_bytes(mo_bytes(po_path(language)))
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    print("usage: python -m ehcert.manager.web.catalogs extract|compile|check", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
