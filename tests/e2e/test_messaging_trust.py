"""Trust in sealed messages tells the truth: revocation and expiry, from the command line.

``seal`` refuses a revoked or expired own certificate; ``unseal`` checks the sender's
revocation at the signing time (OCSP from the certificate's AIA, then CRLs, here through
the served platform), keeps a signature made before a revocation that leaves the key
intact, reports ``--offline`` as unknown, and never crashes on trust warnings.
The CLI runs as a real process whose clock starts at the platform's test clock
(``faketime``, with the suite's own libfaketime of ``make test-future`` removed), so both
agree about what is current.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import without_faketime

from ehcert.manager.revocation import revoke_certificate

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]

DOCTOR_B = "85071212390"
HOUR = dt.timedelta(hours=1)


def _ehcert(at: dt.datetime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *("faketime", "-f", at.strftime("@%Y-%m-%d %H:%M:%S")),
            *(sys.executable, "-m", "ehcert.cli.main", *args),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**without_faketime(os.environ), "TZ": "UTC"},
    )


class Pair:
    """Doctor A (sender) and doctor B (recipient), with keystores and a password file."""

    def __init__(self, actors: Actors, folder: Path) -> None:
        actors.add_provider()
        actors.add_provider(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
        self.actors = actors
        self.a = actors.pooled_keystore(actors.eid(), 0, "a")
        self.b = actors.pooled_keystore(
            actors.eid(DOCTOR_B, first_name="Zoë", last_name="Lefèvre"), 1, "b"
        )
        self.folder = folder
        self.password = folder / "password"
        self.password.write_text(actors.password + "\n")
        (folder / "in.txt").write_bytes(b"discharge letter")

    @property
    def url(self) -> str:
        return str(self.actors.env.url)

    def seal(self, at: dt.datetime, out: str = "msg.p7") -> subprocess.CompletedProcess[str]:
        return _ehcert(
            at,
            "seal",
            "--platform",
            self.url,
            "--keystore",
            str(self.a),
            "--password-file",
            str(self.password),
            "--to",
            f"SSIN={DOCTOR_B}",
            str(self.folder / "in.txt"),
            str(self.folder / out),
        )

    def unseal(self, at: dt.datetime, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
        report = self.folder / "report.json"
        report.unlink(missing_ok=True)
        done = _ehcert(
            at,
            "unseal",
            "--keystore",
            str(self.b),
            "--password-file",
            str(self.password),
            "--report-json",
            str(report),
            *extra,
            str(self.folder / "msg.p7"),
            str(self.folder / "out.txt"),
        )
        return done, json.loads(report.read_text()) if report.exists() else {}

    def revoke_sender(self, reason: str) -> None:
        with self.actors.env.client() as client:
            revoke_certificate(client, self.a, self.actors.password, reason)


def _codes(report: dict) -> set[str]:
    return {issue["code"] for issue in report["trust"]["issues"]}


def test_unseal_with_trust_warnings_writes_the_content_and_exits_0(
    actors: Actors, tmp_path: Path
) -> None:
    pair = Pair(actors, tmp_path)
    now = actors.env.clock.now()
    assert pair.seal(now).returncode == 0
    done, report = pair.unseal(now)  # no --platform and no --anchor: the chain is untrusted
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"discharge letter"
    assert "untrusted_chain" in _codes(report)
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings and all(len(line) > len("warning: ") for line in warnings)


def test_sender_revoked_for_key_compromise_after_sealing_is_reported(
    actors: Actors, tmp_path: Path
) -> None:
    pair = Pair(actors, tmp_path)
    start = actors.env.clock.now()
    assert pair.seal(start).returncode == 0
    done, report = pair.unseal(start, "--platform", pair.url)
    assert done.returncode == 0, done.stderr
    assert report["trust"]["trusted"] is True, report["trust"]["issues"]
    assert report["trust"]["revocation_checked"] is True

    actors.env.clock.set(start + HOUR)
    pair.revoke_sender("keyCompromise")
    done, report = pair.unseal(start + 2 * HOUR, "--platform", pair.url)
    assert done.returncode == 0, done.stderr  # the data is sound; the trust is not
    assert report["trust"]["trusted"] is False
    assert "revoked" in _codes(report)
    assert any("revoked" in line for line in done.stderr.splitlines())


def test_signature_before_a_superseded_revocation_still_stands(
    actors: Actors, tmp_path: Path
) -> None:
    pair = Pair(actors, tmp_path)
    start = actors.env.clock.now()
    assert pair.seal(start).returncode == 0
    actors.env.clock.set(start + HOUR)
    pair.revoke_sender("superseded")
    done, report = pair.unseal(start + 2 * HOUR, "--platform", pair.url)
    assert done.returncode == 0, done.stderr
    assert report["trust"]["trusted"] is True, report["trust"]["issues"]


def test_offline_reports_revocation_unknown_never_good(actors: Actors, tmp_path: Path) -> None:
    pair = Pair(actors, tmp_path)
    now = actors.env.clock.now()
    assert pair.seal(now).returncode == 0
    anchor = tmp_path / "root.pem"
    with actors.env.client() as client:
        from cryptography.hazmat.primitives import serialization

        anchor.write_bytes(client.ca_certificates().root.public_bytes(serialization.Encoding.PEM))
    done, report = pair.unseal(now, "--anchor", str(anchor), "--offline")
    assert done.returncode == 0, done.stderr
    assert _codes(report) == {"revocation_unknown"}
    assert report["trust"]["trusted"] is False
    assert "offline" in report["trust"]["issues"][0]["detail"]


def test_seal_refuses_a_revoked_own_certificate(actors: Actors, tmp_path: Path) -> None:
    pair = Pair(actors, tmp_path)
    pair.revoke_sender("keyCompromise")
    done = pair.seal(actors.env.clock.now(), out="never.p7")
    assert done.returncode == 1
    (sentence,) = done.stderr.strip().splitlines()
    assert "was revoked on" in sentence and "ehcert cert request" in sentence
    assert not (tmp_path / "never.p7").exists()


def test_seal_refuses_an_expired_own_certificate(actors: Actors, tmp_path: Path) -> None:
    pair = Pair(actors, tmp_path)
    later = actors.env.clock.now() + dt.timedelta(days=3 * 366)
    done = pair.seal(later, out="never.p7")
    assert done.returncode == 1
    (sentence,) = done.stderr.strip().splitlines()
    assert "expired on" in sentence
    assert not (tmp_path / "never.p7").exists()


def test_a_message_for_other_keys_is_not_found_not_malformed(
    actors: Actors, tmp_path: Path
) -> None:
    pair = Pair(actors, tmp_path)
    now = actors.env.clock.now()
    sealed = _ehcert(
        now,
        "seal",
        "--platform",
        pair.url,
        "--keystore",
        str(pair.a),
        "--password-file",
        str(pair.password),
        "--to",
        f"SSIN={DOCTOR_B}",
        "--no-copy-to-self",
        str(tmp_path / "in.txt"),
        str(tmp_path / "msg.p7"),
    )
    assert sealed.returncode == 0, sealed.stderr
    opened = _ehcert(
        now,
        "unseal",
        "--keystore",
        str(pair.a),  # the sender kept no copy for itself
        "--password-file",
        str(pair.password),
        "--json",
        str(tmp_path / "msg.p7"),
        str(tmp_path / "out.txt"),
    )
    assert opened.returncode == 1
    (sentence,) = opened.stderr.strip().splitlines()
    assert sentence.endswith("decrypt this message.") and ".." not in sentence
    assert json.loads(opened.stdout)["error"]["kind"] == "not-found"
    assert not (tmp_path / "out.txt").exists()


def test_etk_show_and_seal_to_an_etk_file(actors: Actors, tmp_path: Path) -> None:
    pair = Pair(actors, tmp_path)
    now = actors.env.clock.now()
    etk_file = tmp_path / "b.etk"
    got = _ehcert(
        now, "etk", "get", f"SSIN={DOCTOR_B}", "--platform", pair.url, "--out", str(etk_file)
    )
    assert got.returncode == 0, got.stderr

    shown = _ehcert(now, "etk", "show", str(etk_file), "--platform", pair.url, "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["usable"] is True and view["trust"] == "trusted", view["issues"]
    assert view["depot_signature_valid"] is True
    assert view["key_type"] == "RSA 2048"
    assert DOCTOR_B in view["holder"]

    unanchored = _ehcert(now, "etk", "show", str(etk_file), "--offline", "--json")
    assert unanchored.returncode == 1
    assert json.loads(unanchored.stdout)["trust"] != "trusted"

    tampered = tmp_path / "tampered.etk"
    data = bytearray(etk_file.read_bytes())
    data[-1] ^= 0x01  # inside the depot's signature value
    tampered.write_bytes(bytes(data))
    bad = _ehcert(now, "etk", "show", str(tampered), "--platform", pair.url, "--json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["depot_signature_valid"] is False

    sealed = _ehcert(
        now,
        "seal",
        "--platform",
        pair.url,
        "--keystore",
        str(pair.a),
        "--password-file",
        str(pair.password),
        "--to-etk",
        str(etk_file),
        "--no-copy-to-self",
        "--json",
        str(tmp_path / "in.txt"),
        str(tmp_path / "msg.p7"),
    )
    assert sealed.returncode == 0, sealed.stderr
    [recipient] = json.loads(sealed.stdout)["recipients"]
    assert recipient["key_type"] == "RSA 2048" and recipient["identifier"] == str(etk_file)
    done, report = pair.unseal(now, "--platform", pair.url)
    assert done.returncode == 0, done.stderr
    assert report["trust"]["trusted"] is True, report["trust"]["issues"]
    assert (tmp_path / "out.txt").read_bytes() == b"discharge letter"

    with actors.env.client() as client:
        revoke_certificate(client, pair.b, actors.password, "keyCompromise")
    refused = _ehcert(
        now,
        "seal",
        "--platform",
        pair.url,
        "--keystore",
        str(pair.a),
        "--password-file",
        str(pair.password),
        "--to-etk",
        str(etk_file),
        str(tmp_path / "in.txt"),
        str(tmp_path / "never.p7"),
    )
    assert refused.returncode == 1
    (sentence,) = refused.stderr.strip().splitlines()
    assert str(etk_file) in sentence and "revoked" in sentence
    assert not (tmp_path / "never.p7").exists()
