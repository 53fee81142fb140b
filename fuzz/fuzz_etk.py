"""Fuzz target: encryption tokens (ETK, CMS SignedData) as served by any ETK depot
(``pki/etk.py``): parsed, then verified against the interop anchors at a fixed moment.
Refusals: ``EhcertError`` MALFORMED from parsing; verification reports, never raises.
"""

from __future__ import annotations

import datetime as dt

from fuzz_context import interop_anchors
from fuzzing import main, refused_clearly

from ehcert.pki.etk import parse_etk, verify_etk

AT = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)


def one_input(data: bytes) -> None:
    with refused_clearly():
        etk = parse_etk(data)
        verdict = verify_etk(etk, anchors=interop_anchors(), at=AT, allow_sha1_signatures=True)
        assert verdict.usable or verdict.reason()


if __name__ == "__main__":
    main("etk")
