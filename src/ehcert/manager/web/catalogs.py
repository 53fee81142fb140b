"""Extract, check and compile the UI's gettext catalogs without extra tools.

``python -m ehcert.manager.web.catalogs extract`` lists every message of the templates
(Jinja2's own extractor) and of the Python modules (``_()`` and ``N_()`` calls, found
with :mod:`ast`) and adds the missing ones to each ``.po`` with an empty translation;
``compile`` writes the ``.mo`` files; ``check`` exits 1 when a catalog lacks a
translation or a ``.mo`` is stale. Only the subset of the PO format this project writes
is read: ``msgid``/``msgstr`` with continuation lines, comments, no plurals or contexts.
The MO layout is GNU gettext's ("The Format of GNU MO Files"): a header of seven 32-bit
little-endian words, then the sorted original and translation string tables.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

from jinja2 import Environment

from ehcert.manager.web.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR, TEMPLATE_DIR

PACKAGE_DIR = Path(__file__).parent
MO_MAGIC = 0x950412DE
PO_HEADER = (
    "Project-Id-Version: ehcert\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Language: {language}\n"
)


def _unquote(text: str) -> str:
    return str(ast.literal_eval(text))


def read_po(path: Path) -> dict[str, str]:
    """The ``msgid -> msgstr`` pairs of a PO file (the header under key ``""``)."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            entries["".join(msgid)] = "".join(msgstr)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [_unquote(line[6:])], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [_unquote(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
        else:
            raise ValueError(f"{path}: unsupported PO line {raw!r}")
    flush()
    return entries


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_po(path: Path, entries: dict[str, str]) -> None:
    """Write ``entries`` (header first, then in the given order) as a PO file."""
    lines: list[str] = []
    for msgid, msgstr in entries.items():
        lines.append(f"msgid {_quote(msgid)}")
        lines.append(f"msgstr {_quote(msgstr)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def mo_bytes(entries: dict[str, str]) -> bytes:
    """A GNU MO file of the non-empty translations (header entry included)."""
    pairs = sorted(
        (msgid.encode("utf-8"), msgstr.encode("utf-8"))
        for msgid, msgstr in entries.items()
        if msgstr
    )
    count = len(pairs)
    originals_at = 28
    translations_at = originals_at + 8 * count
    data_at = translations_at + 8 * count
    originals = bytearray()
    translated = bytearray()
    table_o: list[tuple[int, int]] = []
    table_t: list[tuple[int, int]] = []
    for original, translation in pairs:
        table_o.append((len(original), len(originals)))
        originals += original + b"\0"
        table_t.append((len(translation), len(translated)))
        translated += translation + b"\0"
    translated_at = data_at + len(originals)
    out = bytearray(
        struct.pack("<7I", MO_MAGIC, 0, count, originals_at, translations_at, 0, data_at)
    )
    for length, offset in table_o:
        out += struct.pack("<2I", length, data_at + offset)
    for length, offset in table_t:
        out += struct.pack("<2I", length, translated_at + offset)
    return bytes(out + originals + translated)


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
        if not mo_path(language).exists() or mo_path(language).read_bytes() != mo_bytes(entries):
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
            mo_path(language).write_bytes(mo_bytes(read_po(po_path(language))))
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
