"""Languages of the UI: English, French, Dutch, from gettext catalogs.

Belgian care providers speak French, Dutch (and German, not offered yet); English is
the source language. The catalogs are ordinary gettext files,
``locale/<lang>/LC_MESSAGES/ehcert.po`` with their compiled ``.mo`` beside them
(:mod:`ehcert.manager.web.catalogs` compiles them); templates use Jinja2's ``i18n``
extension with new-style gettext (``_("Hello %(name)s", name=...)``), so a missing
placeholder is an error, not silent garbage.

The language comes from the user's choice (a cookie set by the language links), else
from ``Accept-Language`` (RFC 9110 section 12.5.4, quality values honoured), else
English.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

LANGUAGES: tuple[str, ...] = ("en", "fr", "nl")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "nl": "Nederlands"}
DOMAIN = "ehcert"
LOCALE_DIR = Path(__file__).parent / "locale"
TEMPLATE_DIR = Path(__file__).parent / "templates"

Translate = Callable[..., str]


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translated at display)."""
    return message


def negotiate(accept_language: str | None) -> str:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header value."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language``.

    English has a catalog too, identical to the source at first: wording can then be
    improved by editing a text file rather than templates and code."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language])


def translator(language: str) -> Translate:
    """New-style gettext for Python code: ``_(msgid, **values)`` (same as in templates)."""
    catalog = translations(language)

    def translate(message: str, **values: object) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    return translate


IDENTIFIER_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "SSIN": "NISS",
        "NIHII": "INAMI",
        "NIHII-HOSPITAL": "INAMI (hôpital)",
        "CBE": "BCE",
    },
    "nl": {
        "SSIN": "INSZ",
        "NIHII": "RIZIV",
        "NIHII-HOSPITAL": "RIZIV (ziekenhuis)",
        "CBE": "KBO",
    },
}
"""What French and Dutch readers call the identifiers that eHealth writes in English:
the national number is NISS / INSZ, the INAMI / RIZIV number, the enterprise number of
the BCE / KBO. The ``TYPE=`` spellings stay as they are wherever a value is typed."""


def readable_identifier(identifier: str, language: str) -> str:
    """``SSIN=79021802145`` as a reader of ``language`` says it: ``NISS 79021802145``."""
    words = IDENTIFIER_WORDS.get(language)
    kind, sep, rest = identifier.partition("=")
    if not words or not sep or kind not in words:
        return identifier
    value, _, application = rest.partition(",")
    readable = f"{words[kind]} {value}"
    return f"{readable} ({application})" if application else readable


@cache
def environment(language: str) -> Environment:
    """The Jinja2 environment of one language (templates autoescaped, i18n installed)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["identifier"] = lambda text: readable_identifier(str(text), language)
    return env
