"""SIGKILL of the Certificate Manager's ``cert request``, ``renew`` and ``change-password``.

The real command line runs against a real ``ehcert serve`` and is killed at a random
moment (seeded), many times; after each kill:

- every keystore file in the folder opens with its password (the old or, after a
  password change, the new one) and holds its authentication key and an encryption key;
  hidden temporaries are never listed as keystores;
- a renewal leaves the old keystore exactly as it was;
- every encryption key whose ETK the depot has registered is in a keystore on disk: the
  ETK is registered only after the keystore holding its key is durable, so nobody can
  seal a message for a key that was lost.

- a killed renewal is completed by running it again: its new keys were saved before the
  request, and the platform answers the repeated renewal with the successor it signed.

- a killed request likewise: requesting again with the same eID into the same folder
  sends the saved key and gets the certificate the platform may already have signed, so
  every certificate issued ends up in a keystore.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from crash_driver import EHCERT, EID_PIN, Fleet, Served, free_port, seed_platform
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from conftest import SEED
from ehcert.core.errors import EhcertError
from ehcert.manager.etk import encryption_entry
from ehcert.manager.keystores import find_keystores
from ehcert.manager.pending import renewal_journal, request_journal
from ehcert.pki.keystore import (
    MIN_ITERATIONS,
    keystore_filename,
    read_keystore_file,
    write_keystore_file,
)
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry, Keystore
from ehcert.pki.public_keys import PrivateKey
from ehcert.store.db import Database, sqlite_url
from ehcert.store.models import CertificateRow, EtkRow

pytestmark = pytest.mark.slow
TRIALS = int(os.environ.get("EHCERT_CLIENT_KILL_TRIALS", "6"))
PASSWORD = "Crash-Keystore-Pw-2026!"
NEW_PASSWORD = "Another-Keystore-Pw-2027#"


class Platform:
    def __init__(self, served: Served, fleet: Fleet, db_url: str, data_dir: Path) -> None:
        self.served, self.fleet, self.db_url, self.data_dir = served, fleet, db_url, data_dir

    def requested_by(self, ssin: str) -> set[str]:
        """Serials of the first certificates (not renewals) requested by ``ssin``."""
        database = Database(self.db_url)
        try:
            with database.session() as session:
                query = select(CertificateRow.serial_hex).where(
                    CertificateRow.requested_by_ssin == ssin,
                    CertificateRow.predecessor_serial_hex.is_(None),
                )
                return set(session.execute(query).scalars())
        finally:
            database.dispose()

    def successor(self, serial_hex: str) -> str | None:
        database = Database(self.db_url)
        try:
            with database.session() as session:
                wanted = CertificateRow.predecessor_serial_hex == serial_hex
                return session.execute(select(CertificateRow.serial_hex).where(wanted)).scalar()
        finally:
            database.dispose()

    def registered_encryption_serials(self) -> set[str]:
        database = Database(self.db_url)
        try:
            with database.session() as session:
                return set(session.execute(select(EtkRow.encryption_serial)).scalars())
        finally:
            database.dispose()


@pytest.fixture(scope="module")
def platform(past_ca, key_pool, crash_now, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("client-kill")
    shutil.copytree(past_ca, data_dir, dirs_exist_ok=True)
    db_url = sqlite_url(data_dir / "ehcert.db")
    fleet = seed_platform(
        data_dir, db_url, people=1, renewable=TRIALS, keys=iter(key_pool), now=crash_now
    )
    served = Served(data_dir, db_url, free_port(), data_dir / "serve.log")
    served.start()
    try:
        yield Platform(served, fleet, db_url, data_dir)
    finally:
        served.stop()


def _killed_at_random(command: list[str], env: dict[str, str], delay: float) -> int:
    """Run the CLI, SIGKILL it after ``delay`` seconds unless it ended; its exit status."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    return process.returncode


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return time.monotonic() - started


def _check_folder(folder: Path, passwords: tuple[str, ...]) -> dict[Path, set[str]]:
    """Every keystore opens and is complete; the aliases of each one's encryption keys."""
    hidden = {path.name for path in folder.iterdir() if path.name.startswith(".")}
    listed = {item.path.name for item in find_keystores(folder)}
    assert not hidden & listed
    encryption: dict[Path, set[str]] = {}
    for item in find_keystores(folder):
        for password in passwords:
            try:
                keystore = read_keystore_file(item.path, password)
                break
            except EhcertError:
                continue
        else:
            pytest.fail(f"the keystore {item.path.name} opens with no password")
        assert keystore.authentication().alias == AUTHENTICATION_ALIAS
        keys = keystore.encryption_keys()
        assert keys, f"{item.path.name} holds no encryption key"
        encryption[item.path] = {entry.alias for entry in keys}
    return encryption


def _env(platform: Platform) -> dict[str, str]:
    return {**os.environ, "EHCERT_PLATFORM": platform.served.url}


def test_killed_requests_leave_only_whole_keystores(platform: Platform, tmp_path: Path) -> None:
    person = platform.fleet.people[0]
    eid = platform.data_dir / f"eid-{person.ssin}.p12"
    (tmp_path / "pin").write_text(EID_PIN + "\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    folder = tmp_path / "keystores"
    command = [
        str(EHCERT), "cert", "request", "--eid", str(eid), "--pin-file", str(tmp_path / "pin"),
        "--out-dir", str(folder), "--password-file", str(tmp_path / "password"),
    ]  # fmt: skip
    env = _env(platform)
    before = platform.registered_encryption_serials()
    issued_before = platform.requested_by(person.ssin)
    duration = _timed(command, env)
    rng = random.Random(f"{SEED}-request")
    journal = request_journal(folder, f"SSIN={person.ssin}")
    outcomes, resumed = [], 0
    for _ in range(TRIALS):
        outcomes.append(_killed_at_random(command, env, rng.uniform(0, duration)))
        if journal.exists():  # interrupted with its keys saved: requesting again completes it
            resumed += 1
            again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert again.returncode == 0, again.stdout + again.stderr
            assert not journal.exists()
    # A later run never touches an earlier run's files: one check at the end sees them all.
    held = _check_folder(folder, (PASSWORD,))
    _no_registered_key_lost(platform, before, set().union(*held.values()))
    # No certificate was lost: every one the platform issued is in a keystore.
    in_keystores = {
        format(read_keystore_file(path, PASSWORD).authentication().certificate.serial_number, "x")
        for path in held
    }
    assert platform.requested_by(person.ssin) - issued_before == in_keystores
    assert -signal.SIGKILL in outcomes  # some runs were really killed
    print(f"\n{len(outcomes)} requests killed, {resumed} resumed; {len(held)} keystores")


def _no_registered_key_lost(platform: Platform, before: set[str], on_disk: set[str]) -> None:
    """Every ETK registered since ``before`` is for an encryption key held on disk."""
    lost = platform.registered_encryption_serials() - before - on_disk
    assert not lost, f"ETKs registered for encryption keys no keystore holds: {lost}"


def test_killed_renewals_keep_the_old_keystore(
    platform: Platform, key_pool, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = _env(platform)
    rng = random.Random(f"{SEED}-renew")
    keys = iter(key_pool[len(key_pool) // 2 :])
    durations: list[float] = []
    outcomes = []
    before = platform.registered_encryption_serials()
    on_disk: set[str] = set()
    recovered = 0
    for index, held in enumerate(platform.fleet.renewable):
        folder = tmp_path / f"renewal-{index}"
        folder.mkdir(mode=0o700)
        entry = KeyEntry(AUTHENTICATION_ALIAS, held.key, held.certificate, held.chain)
        created = held.certificate.not_valid_before_utc
        old = folder / keystore_filename(f"SSIN={held.owner.ssin}", created, "acceptance")
        keystore = Keystore((entry, encryption_entry(entry, next(keys))), held.chain)
        write_keystore_file(old, keystore, PASSWORD, iterations=MIN_ITERATIONS)
        old_bytes = old.read_bytes()
        command = [
            str(EHCERT), "cert", "renew", "--keystore", str(old),
            "--password-file", str(tmp_path / "password"),
        ]  # fmt: skip
        if index == 0:  # one whole renewal: how long the command takes
            durations.append(_timed(command, env))
        else:
            delay = rng.uniform(0, max(durations))
            outcomes.append(_killed_at_random(command, env, delay))
        assert old.read_bytes() == old_bytes, "the old keystore was touched"
        _check_folder(folder, (PASSWORD,))
        if platform.successor(held.serial) and len(find_keystores(folder)) == 1:
            recovered += 1  # signed, but killed before its keystore was written
        if renewal_journal(old).exists() or len(find_keystores(folder)) == 1:
            # Interrupted: running it again completes it, with the key saved before the
            # request if the platform had signed already (it answers with that successor).
            again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert again.returncode == 0, again.stdout + again.stderr
        assert not renewal_journal(old).exists()
        held_now = _check_folder(folder, (PASSWORD,))
        assert len(held_now) == 2, sorted(p.name for p in held_now)
        (new,) = (path for path in held_now if path != old)
        renewed = read_keystore_file(new, PASSWORD).authentication().certificate
        assert platform.successor(held.serial) == format(renewed.serial_number, "x")
        old_aliases = {e.alias for e in keystore.encryption_keys()}
        for aliases in held_now.values():  # a renewed keystore keeps the old keys
            assert old_aliases <= aliases
        on_disk |= set().union(*held_now.values())
    _no_registered_key_lost(platform, before, on_disk)
    assert -signal.SIGKILL in outcomes
    print(f"\n{len(outcomes)} renewals killed; {recovered} had been signed without a keystore")


def test_killed_password_changes_leave_a_keystore_that_opens(
    platform: Platform, key_pool, tmp_path: Path
) -> None:
    held = platform.fleet.renewable[-1]
    entry = KeyEntry(AUTHENTICATION_ALIAS, held.key, held.certificate, held.chain)
    keystore = Keystore((entry, encryption_entry(entry, key_pool[-1])), held.chain)
    folder = tmp_path / "keystores"
    folder.mkdir(mode=0o700)
    created = dt.datetime.now(dt.UTC)
    path = folder / keystore_filename(f"SSIN={held.owner.ssin}", created, "acceptance")
    write_keystore_file(path, keystore, PASSWORD)
    passwords = [PASSWORD, NEW_PASSWORD]
    for name, password in zip(("a", "b"), passwords, strict=True):
        (tmp_path / name).write_text(password + "\n")
    rng = random.Random(f"{SEED}-password")
    outcomes = []
    duration = None
    current = PASSWORD
    for trial in range(TRIALS):
        old_file, new_file = ("a", "b") if current == PASSWORD else ("b", "a")
        command = [
            str(EHCERT), "cert", "change-password", "--keystore", str(path),
            "--password-file", str(tmp_path / old_file),
            "--new-password-file", str(tmp_path / new_file),
        ]  # fmt: skip
        if trial == 0:
            duration = _timed(command, {**os.environ})
        else:
            assert duration is not None
            outcomes.append(_killed_at_random(command, {**os.environ}, rng.uniform(0, duration)))
        assert [item.path for item in find_keystores(folder)] == [path]  # temporaries hidden
        # The old password or the new one opens it, and it holds the very same keys.
        current, now_held = _open(path, [current, *(p for p in passwords if p != current)])
        assert _numbers(now_held) == _numbers(keystore)
    assert -signal.SIGKILL in outcomes


def _numbers(keystore: Keystore) -> list[tuple[str, bytes]]:
    """Each key's alias and PKCS#8 encoding: the keys themselves, not their objects."""
    return [(e.alias, _pkcs8(e.private_key)) for e in keystore.entries]


def _pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _open(path: Path, passwords: list[str]) -> tuple[str, Keystore]:
    """The first of ``passwords`` that opens ``path``, and what it holds."""
    for password in passwords:
        try:
            return password, read_keystore_file(path, password)
        except EhcertError:
            continue
    pytest.fail(f"{path} opens with neither password")
