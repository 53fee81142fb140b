"""The folder of one environment's CA: certificates, their key generations, root CRLs.

``<data dir>/pki/<environment>/`` holds, per role (see :mod:`ehcert.ca.keys`):

- ``<role>.crt``: the current certificate, always (what operators and relying parties
  copy, and what data directories have always had);
- ``<role>-<generation>.crt`` for every generation after the first, kept after a
  rotation so the history stays readable, and ``<role>-0.crt``, the first generation's,
  copied there by the first rotation (the trust list names every issuing CA
  generation still valid: :mod:`ehcert.ca.trust_list`);
- ``generations.json``: the current key generation of each role, e.g.
  ``{"ocsp": 3, "sts": 1}``; a role it does not name is at generation 0, so data
  directories made before generations existed open unchanged.

A new generation is written in an order that survives a crash at any point: the key,
then ``<role>-<generation>.crt``, then ``generations.json`` (the commit point), then the
copy to ``<role>.crt``. Readers follow ``generations.json``.

The root CRLs (``root.crl``, ``eid-root.crl``) are signed by the operator's ceremonies
(``ehcert admin init``, ``ehcert admin crl publish --root``, ``ehcert admin ca rotate``)
and stored here; ``serve`` only reads them, so it never needs a root key.

Several API processes may share one data directory: every change runs under an
exclusive ``flock`` on ``ca.lock``, and readers that must see a consistent pair take it
shared (:meth:`CaDirectory.locked`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.ca.keys import FIRST_GENERATION, key_name
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.files import write_private_file

GENERATIONS_FILE = "generations.json"
LOCK_FILE = "ca.lock"


class CaDirectory:
    """Reads and writes the files of ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # stat before kept OCSP answers (at most once a millisecond): no path built per call
        self._generations_file = os.fsencode(path / GENERATIONS_FILE)

    # -- locking -----------------------------------------------------------------------

    @contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold ``ca.lock`` (``flock``) for a block; closing the descriptor releases it."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    # -- generations -------------------------------------------------------------------

    def _generations(self) -> dict[str, int]:
        path = self.path / GENERATIONS_FILE
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise EhcertError(
                ErrorKind.INTERNAL, f"{path} is not JSON; restore it from a backup."
            ) from error
        if not isinstance(data, dict) or not all(
            isinstance(value, int) and value >= FIRST_GENERATION for value in data.values()
        ):
            raise EhcertError(
                ErrorKind.INTERNAL, f"{path} must map each role to a generation number."
            )
        return data

    def generation(self, role: str) -> int:
        """The current key generation of ``role`` (0 when never rotated)."""
        return self._generations().get(role, FIRST_GENERATION)

    def generations_stamp(self) -> int:
        """Changes whenever a generation is recorded: lets a process notice a rotation."""
        try:
            return os.stat(self._generations_file).st_mtime_ns
        except FileNotFoundError:
            return 0

    # -- certificates ------------------------------------------------------------------

    def certificate_path(self, role: str, generation: int | None = None) -> Path:
        """``<role>.crt`` (current, or generation 0) or ``<role>-<generation>.crt``."""
        if generation is None or generation == FIRST_GENERATION:
            return self.path / f"{role}.crt"
        return self.path / f"{key_name(role, generation)}.crt"

    def has_certificate(self, role: str) -> bool:
        return self.certificate_path(role, self.generation(role)).exists()

    def certificate(self, role: str) -> tuple[x509.Certificate, int]:
        """The current certificate of ``role`` and its key generation."""
        generation = self.generation(role)
        path = self.certificate_path(role, generation)
        try:
            return x509.load_pem_x509_certificate(path.read_bytes()), generation
        except FileNotFoundError as error:
            raise EhcertError(
                ErrorKind.NOT_FOUND, f"The {role} certificate {path} is missing."
            ) from error

    def history_path(self, role: str, generation: int) -> Path:
        """Where generation ``generation`` of ``role`` is kept once a newer one exists:
        ``<role>-0.crt`` for the first (copied at the first rotation), else as
        :meth:`certificate_path`."""
        if generation == FIRST_GENERATION:
            return self.path / f"{role}-0.crt"
        return self.certificate_path(role, generation)

    def generations_of(self, role: str) -> list[tuple[x509.Certificate, int]]:
        """Every certificate of ``role`` still on file, oldest generation first.

        A generation number that was stepped over, or generation 0 of a folder rotated
        before it was kept, is simply absent.
        """
        current = self.generation(role)
        found = []
        for generation in range(FIRST_GENERATION, current + 1):
            path = self.history_path(role, generation)
            if generation == current and generation == FIRST_GENERATION:
                path = self.certificate_path(role)
            if path.exists():
                found.append((x509.load_pem_x509_certificate(path.read_bytes()), generation))
        return found

    def record(self, role: str, generation: int, certificate: x509.Certificate) -> None:
        """Make ``certificate`` (of a key of ``generation``) the current one of ``role``.

        Call with the exclusive lock held (or during ``init``, before anyone else opens
        the folder).
        """
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        if generation != FIRST_GENERATION:
            first = self.certificate_path(role)
            kept = self.history_path(role, FIRST_GENERATION)
            if self.generation(role) == FIRST_GENERATION and first.exists() and not kept.exists():
                _write(kept, first.read_bytes())  # generation 0's, before <role>.crt moves on
            _write(self.certificate_path(role, generation), pem)
            generations = self._generations()
            generations[role] = generation
            _write(
                self.path / GENERATIONS_FILE,
                json.dumps(generations, indent=2, sort_keys=True).encode() + b"\n",
            )
        _write(self.certificate_path(role), pem)

    # -- CRLs signed by a ceremony -----------------------------------------------------

    def crl_path(self, role: str) -> Path:
        return self.path / f"{role}.crl"

    def read_crl(self, role: str) -> bytes | None:
        try:
            return self.crl_path(role).read_bytes()
        except FileNotFoundError:
            return None

    def write_crl(self, role: str, der: bytes) -> None:
        _write(self.crl_path(role), der)


def _write(path: Path, data: bytes) -> None:
    """Atomic and durable (``pki.files``): a crash leaves the old file or the new one."""
    write_private_file(path, data)
