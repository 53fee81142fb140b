"""Extract, check and compile the UI's gettext catalogs with Babel.

``python -m ehcert.manager.web.catalogs extract`` lists every message of the templates
and of the Python modules (``_()`` and ``N_()`` calls) and adds the missing ones to each
``.po`` with an empty translation; ``compile`` writes the ``.mo`` files; ``check`` exits
1 when a catalog lacks a translation or a ``.mo`` is stale. All of it is Babel's, the
tool Python projects use for gettext catalogs: extraction (``babel.messages.extract``
with Babel's Python extractor and Jinja2's ``babel_extract`` for the templates), reading
and writing PO files (``babel.messages.pofile``) and compiling GNU MO files
(``babel.messages.mofile``). Babel is needed only here, when catalogs change (it is in
the ``dev`` extra); the installed UI reads the committed ``.mo`` files with the standard
library's :mod:`gettext` through Jinja2's ``i18n`` extension.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po as babel_read_po
from babel.messages.pofile import write_po as babel_write_po

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


KEYWORDS: dict[str, None] = {"_": None, "N_": None}
"""The marking functions: ``_()`` translates (templates and Python), ``N_()`` only marks
(:func:`ehcert.manager.web.i18n.N_`). Both take the message as their first argument."""
TEMPLATE_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
    "newstyle_gettext": "true",
}
"""The templates are read as :func:`ehcert.manager.web.i18n.environment` renders them."""


def _messages_of(method: str, path: Path, options: dict[str, str]) -> list[str]:
    found: list[str] = []
    for _line, message, _comments, _context in extract_from_file(
        method, str(path), keywords=KEYWORDS, options=options
    ):
        # Keyword arguments (new-style placeholders) may make the message a tuple.
        first = message[0] if isinstance(message, tuple) else message
        if isinstance(first, str):
            found.append(first)
    return found


def extract_messages() -> list[str]:
    """Every message of the templates and Python modules, in first-seen order."""
    messages: list[str] = []
    for template in sorted(TEMPLATE_DIR.glob("*.html")):
        messages += _messages_of("jinja2.ext:babel_extract", template, TEMPLATE_OPTIONS)
    for module in sorted(PACKAGE_DIR.glob("*.py")):
        messages += _messages_of("python", module, {})
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
