"""Fuzz target: sealed messages (CMS signed-encrypted-signed, ``client/etee/unseal.py``),
opened with Bob's interop keystore at a fixed moment. Refusals: ``EhcertError``
MALFORMED; every other finding goes in the report.
"""

from __future__ import annotations

import datetime as dt

from fuzz_context import bob_keystore, interop_anchors
from fuzzing import main, refused_clearly

from ehcert.client.etee.unseal import unseal

AT = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)


def one_input(data: bytes) -> None:
    with refused_clearly():
        unseal(
            data,
            [bob_keystore()],
            anchors=interop_anchors(),
            at=AT,
            allow_sha1_certificates=True,
            allow_sha1_signatures=True,
        )


if __name__ == "__main__":
    main("unseal")
