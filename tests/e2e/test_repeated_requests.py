"""A request asked again gets its certificate back; a key is still certified only once.

A client that lost the answer (killed, or the connection cut, before its keystore was
written) repeats the request with the same key, which it saved before sending
(``manager.pending``). Same key, same requester, same holder: the platform answers with
the certificate it already issued, signing and auditing nothing new. Anybody else, or
a revoked certificate, is refused as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ehcert.client.platform import PlatformClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.certificates import request_certificate
from ehcert.manager.keystores import find_keystores
from ehcert.manager.pending import load_pending_keys, request_journal
from ehcert.pki.keystore import read_keystore_file
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

OTHER = example_ssin(11)


def _refused(call) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        call()
    return refused.value


def test_the_same_request_gets_the_same_certificate(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    first = actors.request(eid, 0)
    audit = len(actors.audit_records())
    again = actors.request(eid, 0)
    assert again.serial == first.serial
    assert again.certificate == first.certificate
    assert len(actors.audit_records()) == audit


def test_the_key_of_someone_else_or_of_a_revoked_certificate_is_refused(
    actors: Actors,
) -> None:
    actors.add_provider()
    actors.add_provider(OTHER, first_name="Other", last_name="Person")
    actors.add_institution()
    eid = actors.eid()
    issued = actors.request(eid, 0)
    for call in (
        lambda: actors.request(actors.eid(OTHER, first_name="Other", last_name="Person"), 0),
        lambda: actors.request(eid, 0, institution=actors.hospital),
    ):
        error = _refused(call)
        assert error.kind is ErrorKind.CONFLICT
        assert error.field == "public_key"
    with actors.env.client() as client:
        client.revoke(eid.signer, issued.serial, "keyCompromise")
    assert _refused(lambda: actors.request(eid, 0)).kind is ErrorKind.CONFLICT


def test_an_interrupted_request_completes_with_the_same_key(
    actors: Actors, tmp_path, unreachable_url: str
) -> None:
    actors.add_provider()
    eid = actors.eid()
    folder = tmp_path / "keystores"

    def request(client: PlatformClient):
        return request_certificate(
            client, eid.credential, institution=None, application_id=None, out_dir=folder,
            password=actors.password, now=actors.env.clock.now(),
        )  # fmt: skip

    with PlatformClient(unreachable_url) as offline:
        assert _refused(lambda: request(offline)).kind is ErrorKind.UNAVAILABLE
    journal = request_journal(folder, f"SSIN={actors.doctor}")
    saved = load_pending_keys(journal, actors.password)
    assert saved is not None
    assert journal.stat().st_mode & 0o777 == 0o600
    assert find_keystores(folder) == ()
    with actors.env.client() as client:
        path = request(client)
    keystore = read_keystore_file(path, actors.password)
    assert keystore.authentication().certificate.public_key() == saved[0].public_key()
    assert not journal.exists()
    # Refused outright (here: withdrawn from the registry), the saved keys are dropped.
    actors.env.registry.withdraw_provider(actors.doctor, now=actors.env.clock.now())
    with actors.env.client() as client:
        assert _refused(lambda: request(client)).kind is ErrorKind.WITHDRAWN
    assert not journal.exists()


@pytest.fixture
def unreachable_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
