"""The publication's limits from the ehBox v3 XSD, each refusal naming its field."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.ehbox.model import (
    MAX_CUSTOM_METAS,
    BoxId,
    Folder,
    Page,
    check_message_id,
    new_message_id,
    parse_message_ids,
    parse_publication,
)

DIGEST = hashlib.sha256(b"x").hexdigest()


def _part(name: str) -> dict[str, object]:
    return {"name": name, "size": 1, "sha256": DIGEST}


def _payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "publication_id": "P1",
        "destinations": [{"box": "SSIN=79021802145:doctor"}],
        "document": {
            "title": "Discharge letter",
            "download_file_name": "letter.pdf",
            "mime_type": "application/pdf",
        },
        "annexes": [{"download_file_name": "scan.png", "mime_type": "image/png"}],
        "parts": [_part("document"), _part("annex/0/title"), _part("annex/0/content")],
    }
    payload.update(changes)
    return payload


def _refusal(payload: dict[str, Any], max_recipients: int = 100) -> EhcertError:
    with pytest.raises(EhcertError) as caught:
        parse_publication(payload, max_recipients=max_recipients)
    assert caught.value.kind is ErrorKind.MALFORMED
    return caught.value


def test_a_valid_publication_lists_its_parts_in_wire_order() -> None:
    publication = parse_publication(_payload(), max_recipients=100)
    assert publication.expected_part_names() == ["document", "annex/0/title", "annex/0/content"]
    assert publication.size == 3
    assert publication.destinations[0].box == BoxId("SSIN", "79021802145", "doctor")
    assert "Discharge letter" in str(publication.clear_metadata())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"publication_id": "P" * 14}, "publication_id"),
        (
            {"document": {"title": "t" * 401, "download_file_name": "a", "mime_type": "b"}},
            "document.title",
        ),
        (
            {"document": {"title": "", "download_file_name": "a", "mime_type": "b"}},
            "document.title",
        ),
        (
            {"document": {"title": "t", "download_file_name": "a" * 256, "mime_type": "b"}},
            "document.download_file_name",
        ),
        (
            {"document": {"title": "t", "download_file_name": "a", "mime_type": "m" * 256}},
            "document.mime_type",
        ),
        (
            {"content_specification": {"application_name": "a" * 26}},
            "content_specification.application_name",
        ),
        (
            {"content_specification": {"content_type": "LETTER"}},
            "content_specification.content_type",
        ),
        ({"custom_metas": [{"key": "k", "value": "v" * 251}]}, "custom_metas[0].value"),
        (
            {"custom_metas": [{"key": "k", "value": "v"}, {"key": "k" * 251, "value": "v"}]},
            "custom_metas[1].key",
        ),
        ({"custom_metas": [{"key": "", "value": "v"}]}, "custom_metas[0].key"),
        ({"custom_metas": [{"key": "k", "value": "v"}] * (MAX_CUSTOM_METAS + 1)}, "custom_metas"),
        ({"destinations": []}, "destinations"),
        ({"destinations": [{"box": "SSIN=12345678901"}]}, "destinations[0].box"),
        (
            {"destinations": [{"box": "SSIN=79021802145"}, {"box": "SSIN=79021802145:doctor"}]},
            "destinations[1].box",
        ),
        ({"parts": [_part("document")]}, "parts"),
        ({"parts": [{"name": "document", "size": 1, "sha256": "AB"}]}, "parts[0].sha256"),
        ({"free_information": {"text": True, "table_rows": 2}}, "free_information"),
    ],
)
def test_each_limit_is_refused_naming_its_field(change: dict[str, Any], field: str) -> None:
    assert _refusal(_payload(**change)).field == field


def test_custom_metas_reach_the_contract_limits() -> None:
    """``CustomMeta``: ``maxOccurs="50"`` in ``ContentContextType`` of the publication XSD
    (and of ``GetFullMessageResponse`` in the consultation XSD, which must carry them
    back), key and value 1-250 characters (``CustomMetaType`` of the core XSD)."""
    assert MAX_CUSTOM_METAS == 50
    metas = [{"key": "k" * 250, "value": "v" * 250}] * MAX_CUSTOM_METAS
    publication = parse_publication(_payload(custom_metas=metas), max_recipients=100)
    assert len(publication.custom_metas) == 50
    refusal = _refusal(_payload(custom_metas=[*metas, metas[0]]))
    assert "custom_metas" in str(refusal) and "50" in str(refusal)


def test_the_number_of_recipients_is_configurable() -> None:
    two = [{"box": "SSIN=79021802145"}, {"box": "NIHII-HOSPITAL=71000436"}]
    assert len(parse_publication(_payload(destinations=two), max_recipients=2).destinations) == 2
    assert _refusal(_payload(destinations=two), max_recipients=1).field == "destinations"


def test_boxes_folders_pages_and_ids() -> None:
    assert str(BoxId.parse("nihii-hospital=71000436")) == "NIHII-HOSPITAL=71000436"
    assert BoxId.parse("NIHII-HOSPITAL=71000436").quality == "hospital"
    assert str(BoxId.parse("SSIN=79021802145:Doctor")) == "SSIN=79021802145:doctor"
    with pytest.raises(EhcertError, match="quality"):
        BoxId.parse("SSIN=79021802145:wizard")
    assert Folder.parse("bininbox") is Folder.BININBOX
    with pytest.raises(EhcertError, match="INBOX"):
        Folder.parse("TRASH")
    assert Page.parse({"start_index": 101, "end_index": 200}).offset == 100
    with pytest.raises(EhcertError, match="at most 100"):
        Page.parse({"start_index": 1, "end_index": 101})
    assert len(check_message_id(new_message_id())) == 13
    with pytest.raises(EhcertError, match="13"):
        check_message_id("short")
    with pytest.raises(EhcertError, match="message_ids"):
        parse_message_ids({"message_ids": ["A" * 13] * 101})
