"""Changing a keystore password: refusals change nothing, and no crash loses the keystore.

The crash test runs the change in a child process and kills it with SIGKILL (no cleanup
handlers run, as in a power cut of the process) at each step of
:func:`ehcert.manager.password.change_password`, then at random moments; afterwards the
keystore must open with the old or the new password and hold exactly what it held.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.keystores import find_keystores
from ehcert.manager.password import (
    ChangeStep,
    PasswordProblem,
    change_password,
    leftover_temporaries,
    password_problems,
)
from ehcert.pki.keystore import MIN_ITERATIONS, read_keystore_file
from ehcert.pki.keystore_entries import Keystore

from .conftest import FIXTURES, PASSWORD

NEW = "New-Password-2027?"

CHILD = """
import os, signal, sys
from pathlib import Path
from ehcert.manager.password import change_password
stop = os.environ["STOP_AT"]
def checkpoint(step):
    if step.value == stop:
        os.kill(os.getpid(), signal.SIGKILL)
print("ready", flush=True)
change_password(Path(sys.argv[1]), os.environ["OLD"], os.environ["NEW"],
                iterations=int(os.environ["ITERATIONS"]), checkpoint=checkpoint)
"""


def _content(keystore: Keystore) -> list[tuple[str, bytes, bytes]]:
    return sorted(
        (
            entry.alias,
            entry.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            entry.certificate.public_bytes(serialization.Encoding.DER),
        )
        for entry in keystore.entries
    )


def _child(path: Path, stop_at: str, iterations: int = MIN_ITERATIONS) -> subprocess.Popen[str]:
    environment = dict(
        os.environ, STOP_AT=stop_at, OLD=PASSWORD, NEW=NEW, ITERATIONS=str(iterations)
    )
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _opens_with(path: Path) -> tuple[str, Keystore]:
    refusals = []
    for password in (PASSWORD, NEW):
        try:
            return password, read_keystore_file(path, password)
        except EhcertError as error:
            refusals.append(error.kind)
    assert refusals == [ErrorKind.UNAUTHORIZED, ErrorKind.UNAUTHORIZED]
    raise AssertionError(f"{path} opens with neither password: the keystore is lost")


@pytest.mark.parametrize("step", list(ChangeStep))
def test_a_kill_at_any_step_leaves_the_old_or_the_new_keystore(
    person_keystore: Path, step: ChangeStep
) -> None:
    original = _content(read_keystore_file(person_keystore, PASSWORD))
    child = _child(person_keystore, step.value)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL

    password, keystore = _opens_with(person_keystore)
    renamed = step in (ChangeStep.RENAMED, ChangeStep.FOLDER_SYNCED)
    assert password == (NEW if renamed else PASSWORD)
    assert _content(keystore) == original
    # A half-done change leaves at most a hidden temporary, never listed as a keystore...
    assert [
        k.path for k in find_keystores(person_keystore.parent) if k.path.name.startswith(".")
    ] == []
    # ...and the next change removes it.
    change_password(person_keystore, password, "Third-Password-2028#", iterations=MIN_ITERATIONS)
    assert leftover_temporaries(person_keystore) == []
    assert _content(read_keystore_file(person_keystore, "Third-Password-2028#")) == original


def test_kills_at_random_moments_never_lose_the_keystore(person_keystore: Path) -> None:
    original = _content(read_keystore_file(person_keystore, PASSWORD))
    chooser = random.Random(20260302)
    outcomes = set()
    for _ in range(8):
        child = _child(person_keystore, "never", iterations=200_000)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(chooser.uniform(0.0, 0.6))
        child.kill()
        child.communicate(timeout=60)
        password, keystore = _opens_with(person_keystore)
        assert _content(keystore) == original
        outcomes.add(password)
        if password == NEW:  # back to the old password for the next round
            change_password(person_keystore, NEW, PASSWORD, iterations=MIN_ITERATIONS)
    assert PASSWORD in outcomes


def test_a_wrong_old_password_changes_nothing(person_keystore: Path) -> None:
    before = person_keystore.read_bytes()
    with pytest.raises(EhcertError) as caught:
        change_password(person_keystore, "not it", NEW, iterations=MIN_ITERATIONS)
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.detail == "The keystore password is wrong."
    assert person_keystore.read_bytes() == before
    assert leftover_temporaries(person_keystore) == []


@pytest.mark.parametrize(
    ("new", "says"),
    [
        ("short1!", "too short"),
        ("alllowercaseletters", "too simple"),
        (PASSWORD, "same as the old one"),
    ],
)
def test_weak_or_unchanged_new_passwords_are_refused(
    person_keystore: Path, new: str, says: str
) -> None:
    before = person_keystore.read_bytes()
    with pytest.raises(EhcertError) as caught:
        change_password(person_keystore, PASSWORD, new, iterations=MIN_ITERATIONS)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert says in caught.value.detail
    assert caught.value.field == "new_password"
    assert person_keystore.read_bytes() == before


def test_a_legacy_keystore_from_the_field_is_rewritten_with_all_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "alices_private_key_store.p12"
    shutil.copy(FIXTURES / "alice" / "alices_private_key_store.p12", path)
    original = read_keystore_file(path, "test")
    change_password(path, "test", NEW, iterations=MIN_ITERATIONS, check_strength=True)
    rewritten = read_keystore_file(path, NEW)
    assert _content(rewritten) == _content(original)
    assert len(rewritten.entries) == 2
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("", (PasswordProblem.EMPTY,)),
        ("Ab1!", (PasswordProblem.TOO_SHORT,)),
        ("abcdefghijkl", (PasswordProblem.TOO_SIMPLE,)),
        ("aaaaaaaaaaaaA1", (PasswordProblem.TOO_SIMPLE,)),
        ("Password123", (PasswordProblem.COMMON, PasswordProblem.TOO_SHORT)),
        ("motdepasse", (PasswordProblem.COMMON, PasswordProblem.TOO_SHORT)),
        ("Winter-Garden-42!", ()),
        ("a sentence that is long enough", ()),
    ],
)
def test_password_strength_rules(password: str, problems: tuple[PasswordProblem, ...]) -> None:
    assert password_problems(password) == problems
