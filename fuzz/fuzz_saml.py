"""Fuzz target: SAML 1.1 assertions from an STS, verified by the SDK before use
(``client/sts.py`` ``verify_assertion``: XML parsing, XML-DSig, conditions, subject
confirmation). Refusals: ``EhcertError`` UNAUTHORIZED naming the failed check.
"""

from __future__ import annotations

import datetime as dt

from fuzz_context import saml_certificates
from fuzzing import main, refused_clearly

from ehcert.client.sts import verify_assertion

# Inside the validity of the corpus's assertions (see fuzz/make_corpus.py).
AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def one_input(data: bytes) -> None:
    sts, holder = saml_certificates()
    with refused_clearly():
        token = verify_assertion(data, sts, holder, AT)
        assert token.not_before < token.not_on_or_after


if __name__ == "__main__":
    main("saml")
