"""No PIN, password, private key or message content ever reaches a log.

A real ``ehcert serve`` (its JSON log on stderr, as an operator collects it) and the real
command line go through a whole life: registry entry, test eID, request, status, seal
and unseal a letter, STS token, password change, revocation; plus requests built to
provoke a refusal that might quote its input. Every secret is a known marker; afterwards
the server's log and every command's output are searched for each marker, for the
private keys (as base64 and hex of their DER, as PEM bodies) and for the letter.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ehcert.pki.keystore import read_keystore_file

pytestmark = pytest.mark.slow

EHCERT = Path(sys.executable).with_name("ehcert")
SSIN = "79021802145"
PIN = "58204716"
PASSWORD = "Marker-Passw0rd-7f3a9c!"
NEW_PASSWORD = "Second-Marker-Pw-41d2e8#"
LETTER = "MARKER-LETTER-CONTENT-93b1 Discharge letter for room 12, confidential."
REQUEST_ID = "trace-4711.a"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _key_traces(key: object) -> list[str]:
    """Pieces of a private key's encodings that would show it was written out."""
    der = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    middle = der[len(der) // 3 : len(der) // 3 + 24]
    return [
        base64.b64encode(middle).decode()[:28],
        middle.hex(),
        base64.urlsafe_b64encode(middle).decode()[:28],
    ]


def test_a_whole_flow_leaves_no_secret_in_any_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EHCERT_PLATFORM": url, "EHCERT_DATA_DIR": str(data)}
    outputs: list[str] = []

    def ehcert(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(EHCERT), *args], capture_output=True, text=True, env=env, timeout=300,
            check=False, cwd=tmp_path,
        )  # fmt: skip
        outputs.append(run.stdout + run.stderr)
        if ok:
            assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run

    (tmp_path / "pin").write_text(PIN + "\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    (tmp_path / "new-password").write_text(NEW_PASSWORD + "\n")
    (tmp_path / "letter.txt").write_text(LETTER)
    # The hierarchy is made here, on the clock every process of this test runs on (the
    # machine's, moved by make test-future), not copied from the session's template made
    # at T0: its issuing CA is valid ten years from T0, and a century ahead it has expired.
    ehcert("admin", "init", "--data-dir", str(data), "--key-type", "rsa-2048")
    ehcert("admin", "provider", "add", "--ssin", SSIN, "--profession", "doctor",
           "--first-name", "Bryan", "--last-name", "Brouckaert")  # fmt: skip
    eid = tmp_path / "eid.p12"
    ehcert("admin", "eid", "issue", "--ssin", SSIN, "--out", str(eid), "--pin-file", "pin")

    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [str(EHCERT), "serve", "--port", str(port), "--public-url", url],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=tmp_path,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        traced = httpx.get(f"{url}/health", headers={"X-Request-Id": REQUEST_ID})
        assert traced.headers["X-Request-Id"] == REQUEST_ID  # the front echoes it (no line)
        traced = httpx.get(f"{url}/v1/nonce", headers={"X-Request-Id": REQUEST_ID})
        assert traced.headers["X-Request-Id"] == REQUEST_ID  # routed: in the access line
        ehcert("cert", "request", "--eid", str(eid), "--pin-file", "pin",
               "--out-dir", "keystores", "--password-file", "password")  # fmt: skip
        (keystore,) = (tmp_path / "keystores").glob("*.acc-p12")
        ks = ["--keystore", str(keystore)]
        ehcert("cert", "status", *ks, "--password-file", "password")
        ehcert("seal", *ks, "--password-file", "password", "--to", f"SSIN={SSIN}",
               "letter.txt", "letter.p7")  # fmt: skip
        ehcert("unseal", *ks, "--password-file", "password", "letter.p7", "letter.out")
        assert (tmp_path / "letter.out").read_text() == LETTER
        ehcert("sts", "token", *ks, "--password-file", "password", "--out", "token.xml")
        ehcert("cert", "renew", *ks, "--password-file", "password", ok=False)  # too early
        ehcert("cert", "change-password", *ks, "--password-file", "password",
               "--new-password-file", "new-password")  # fmt: skip
        ehcert("cert", "status", *ks, "--password-file", "password", ok=False)  # old one
        # Refusals that could quote what was sent: a body and fields holding the markers.
        for body in (
            json.dumps({"protected": PASSWORD, "payload": LETTER, "signature": PIN}),
            f'{{"csr": "{PASSWORD}", "pin": "{PIN}"}}',
            LETTER,
        ):
            refused = httpx.post(f"{url}/v1/certificates", content=body)
            assert 400 <= refused.status_code < 500
        httpx.get(f"{url}/v1/etk", params={"id": f"SSIN={PASSWORD}"})
        ehcert("cert", "revoke", *ks, "--password-file", "new-password",
               "--reason", "keyCompromise")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)

    server_log = log.read_text()
    lines = server_log.splitlines()
    banner = next(i for i, line in enumerate(lines) if line.startswith("ehcert platform"))
    entries = [json.loads(line) for line in lines[banner + 1 :] if line.strip()]
    access = [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    assert len(access) >= 15
    assert all(len(entry["request_id"]) >= 1 for entry in access)
    assert any(
        entry["request_id"] == REQUEST_ID and entry["path"] == "/v1/nonce" for entry in access
    )
    # Kept answers (here /health) are counted, not logged line by line (api.front).
    assert {entry["route"] for entry in access} >= {"/v1/certificates", "/v1/nonce", "/v1/etk"}

    keystore_keys = read_keystore_file(keystore, NEW_PASSWORD)
    private_keys = [entry.private_key for entry in keystore_keys.entries]
    private_keys.append(pkcs12.load_key_and_certificates(eid.read_bytes(), PIN.encode())[0])
    markers = [PIN, PASSWORD, NEW_PASSWORD, "MARKER-LETTER-CONTENT", "Discharge letter"]
    markers += [trace for key in private_keys for trace in _key_traces(key)]
    sealed = (tmp_path / "letter.p7").read_bytes()
    markers.append(base64.b64encode(sealed[100:130]).decode()[:32])
    for text, where in [
        (server_log, "the server log"),
        *((o, "a command's output") for o in outputs),
    ]:
        for marker in markers:
            assert marker not in text, f"{marker!r} appears in {where}"
