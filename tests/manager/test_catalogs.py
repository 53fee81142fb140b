"""The UI's catalogs: English, French and Dutch complete, placeholders kept, .mo up to date."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ehcert.manager.web import catalogs
from ehcert.manager.web.i18n import LANGUAGES, negotiate, translator

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_message_is_translated_and_every_mo_is_fresh() -> None:
    assert catalogs.problems() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    entries = catalogs.read_po(catalogs.po_path(language))
    for msgid, msgstr in entries.items():
        if msgid:
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_our_mo_reads_like_gnu_msgfmt_output(language: str, tmp_path: Path) -> None:
    ours = gettext.GNUTranslations(catalogs.mo_path(language).open("rb"))
    wanted = catalogs.read_po(catalogs.po_path(language))
    for msgid, msgstr in wanted.items():
        if msgid:
            assert ours.gettext(msgid) == msgstr
    if shutil.which("msgfmt"):
        reference = tmp_path / "reference.mo"
        subprocess.run(
            ["msgfmt", "--check-format", "-o", str(reference), str(catalogs.po_path(language))],
            check=True,
        )
        theirs = gettext.GNUTranslations(reference.open("rb"))
        # Every translation alike; the header entry is each tool's own rendering of the
        # same metadata, so only what a reader uses from it is compared.
        mine = dict(ours._catalog)  # type: ignore[attr-defined]
        reference_catalog = dict(theirs._catalog)  # type: ignore[attr-defined]
        assert {k: v for k, v in mine.items() if k} == {
            k: v for k, v in reference_catalog.items() if k
        }
        assert ours.info()["language"] == theirs.info()["language"] == language
        assert ours.charset() == theirs.charset() == "utf-8"


def test_french_and_dutch_differ_from_english() -> None:
    assert translator("fr")("Your keystores") == "Vos keystores"
    assert translator("nl")("Your keystores") == "Uw keystores"
    assert translator("en")("Days %(n)s", n=3) == "Days 3"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("fr-BE,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE, nl;q=0.5, fr;q=0.4", "nl"),
        ("en;q=0.1, fr;q=0.9", "fr"),
        ("de, es", "en"),
        ("nl;q=0, fr;q=garbage", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, language: str) -> None:
    assert negotiate(header) == language


@pytest.mark.parametrize(
    ("language", "identifier", "readable"),
    [
        ("fr", "SSIN=79021802145", "NISS 79021802145"),
        ("nl", "SSIN=79021802145", "INSZ 79021802145"),
        ("fr", "NIHII=10012345001", "INAMI 10012345001"),
        ("nl", "NIHII-HOSPITAL=71000436,LABGATEWAY", "RIZIV (ziekenhuis) 71000436 (LABGATEWAY)"),
        ("fr", "CBE=0123456749", "BCE 0123456749"),
        ("nl", "CBE=0123456749", "KBO 0123456749"),
        ("en", "SSIN=79021802145", "SSIN=79021802145"),
        ("fr", "EHP=1990001916", "EHP=1990001916"),
    ],
)
def test_identifiers_in_the_words_readers_use(
    language: str, identifier: str, readable: str
) -> None:
    from ehcert.manager.web.i18n import readable_identifier

    assert readable_identifier(identifier, language) == readable


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_no_french_or_dutch_text_says_ssin_or_nihii_as_a_word(language: str) -> None:
    entries = catalogs.read_po(catalogs.po_path(language))
    for msgid, msgstr in entries.items():
        if msgid:
            words = re.sub(r"[A-Z-]+=\S+", "", msgstr)  # TYPE=VALUE examples stay typed as is
            assert not re.search(r"\b(SSIN|NIHII|CBE)\b", words), msgstr
