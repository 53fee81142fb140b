"""How the local web UI shows the platform's refusal of the other environment."""

from __future__ import annotations

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.web.i18n import translator
from ehcert.manager.web.messages import shown_error

DETAIL = (
    "Certificate 1d belongs to the production environment, but this platform is the "
    "acceptance environment (wrong environment): ..."
)


@pytest.mark.parametrize(
    ("language", "lead"),
    [
        ("en", "This certificate belongs to the other environment (acceptance or production)."),
        ("fr", "Ce certificat appartient à l'autre environnement (acceptation ou production)."),
        ("nl", "Dit certificaat hoort bij de andere omgeving (acceptatie of productie)."),
    ],
)
def test_wrong_environment_is_said_in_the_users_language(language: str, lead: str) -> None:
    shown = shown_error(EhcertError(ErrorKind.WRONG_ENVIRONMENT, DETAIL), translator(language))
    assert (shown.text, shown.original) == (lead, DETAIL)
