"""What every fuzz target shares: the rule a rejection must follow, the target list and
the two ways of running a target.

A parser of outside bytes may accept its input or refuse it, and a refusal must be the
product's own clear error: an :class:`~ehcert.core.errors.EhcertError` with a sentence,
or, for the value objects of ``ehcert.core`` (pyca/cryptography's convention, see
``core/identifiers.py``), a ``ValueError`` raised by ehcert itself that names the field.
Anything else escaping a parser (``IndexError``, ``KeyError``, a library's
``ValueError``...) is a crash, and :class:`UnclearRejection` says so.

Two drivers run the same ``one_input(data)`` functions:

- :func:`main`, coverage-guided with atheris (libFuzzer) for a bounded time: ``make fuzz``;
- :func:`mutations`, a small deterministic mutator the pytest smoke uses to push every
  corpus file plus a few hundred variations through each target inside ``make test``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ehcert.core.errors import EhcertError

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"
CONTEXT_DIR = FUZZ_DIR / "context"
REPO_DIR = FUZZ_DIR.parent
EHCERT_DIR = str(Path(importlib.import_module("ehcert").__file__ or "").parent)

# One target per parser of outside bytes; the module is fuzz/fuzz_<name>.py.
TARGETS = (
    "identifiers",
    "names",
    "csr",
    "jws",
    "ocsp",
    "etk",
    "unseal",
    "saml",
    "pkcs12",
    "csv_rows",
)

OneInput = Callable[[bytes], None]


class UnclearRejection(AssertionError):
    """A parser let through an exception that is not the product's clear error."""


def _raised_in_ehcert(error: BaseException) -> bool:
    """Was ``error`` raised by a ``raise`` statement of ehcert (not deep in a library)?"""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(EHCERT_DIR)


def check_rejection(
    error: BaseException,
    documented: tuple[type[BaseException], ...] = (),
    mentions: tuple[str, ...] = (),
) -> None:
    """Raise :class:`UnclearRejection` unless ``error`` is a clear refusal (module doc)."""
    if isinstance(error, EhcertError):
        if not error.detail.strip():
            raise UnclearRejection(f"EhcertError {error.kind} without a sentence") from error
        return
    if isinstance(error, documented) and _raised_in_ehcert(error):
        message = str(error)
        if not mentions or any(word.lower() in message.lower() for word in mentions):
            return
    raise UnclearRejection(f"{type(error).__name__}: {error}") from error


@contextmanager
def refused_clearly(
    documented: tuple[type[BaseException], ...] = (), mentions: tuple[str, ...] = ()
) -> Iterator[None]:
    """Run a parser call: acceptance and clear refusals pass, anything else fails."""
    try:
        yield
    except Exception as error:
        check_rejection(error, documented, mentions)


def load_target(name: str) -> OneInput:
    if str(FUZZ_DIR) not in sys.path:
        sys.path.insert(0, str(FUZZ_DIR))
    module = importlib.import_module(f"fuzz_{name}")
    function: OneInput = module.one_input
    return function


def corpus_files(name: str) -> list[Path]:
    return sorted(p for p in (CORPUS_DIR / name).iterdir() if p.is_file())


# ------------------------------------------------------------------ deterministic mutations

_INTERESTING = (
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\x81\x80",
    b"\x30\x80",
    b"\x84\xff\xff\xff\xff",
)


def _mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        position = rng.randrange(len(buffer) + 1)
        if choice == 0 and buffer:  # flip bits of one byte
            buffer[position % len(buffer)] ^= 1 << rng.randrange(8)
        elif choice == 1 and buffer:  # replace a byte
            buffer[position % len(buffer)] = rng.randrange(256)
        elif choice == 2:  # insert an interesting sequence
            buffer[position:position] = rng.choice(_INTERESTING)
        elif choice == 3 and buffer:  # delete a run
            del buffer[position : position + rng.randint(1, 16)]
        elif choice == 4:  # truncate
            del buffer[position:]
        elif choice == 5 and buffer:  # duplicate a run
            end = min(len(buffer), position + rng.randint(1, 32))
            buffer[position:position] = buffer[position:end]
        else:  # splice in a part of another corpus file
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            buffer[position:position] = other[start : start + rng.randint(1, 64)]
    return bytes(buffer)


def mutations(name: str, count: int, seed: int = 11) -> Iterator[bytes]:
    """``count`` variations of the corpus of target ``name``, the same on every run."""
    pool = [p.read_bytes() for p in corpus_files(name)]
    rng = random.Random(f"{name}:{seed}")
    for _ in range(count):
        yield _mutate(rng.choice(pool), rng, pool)


# ------------------------------------------------------------------ coverage-guided driver


def _functions_of(prefixes: tuple[str, ...]) -> Iterator[Callable[..., object]]:
    """Every Python function of the loaded modules named ``prefixes`` (methods included).

    Coverage feedback is wanted from the product and the pure-Python parsers it uses;
    instrumenting every loaded module (``atheris.instrument_all``) takes minutes.
    """
    seen: set[int] = set()
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith(prefixes):
            continue
        for value in list(vars(module).values()):
            members = [value]
            if isinstance(value, type) and value.__module__ == module_name:
                members = list(vars(value).values())
            for member in members:
                for candidate in (
                    member,
                    getattr(member, "__func__", None),
                    getattr(member, "fget", None),
                ):
                    code = getattr(candidate, "__code__", None)
                    if code is None or id(candidate) in seen:
                        continue
                    if getattr(candidate, "__module__", "") != module_name:
                        continue
                    seen.add(id(candidate))
                    yield candidate  # type: ignore[misc]


def main(name: str) -> None:
    """``python fuzz/fuzz_<name>.py [--seconds N] [libFuzzer flags...]``: fuzz with atheris.

    New inputs go to a scratch directory (the kept corpus is only read); a crashing input
    is written to ``fuzz/crashes/<name>-crash-<sha1>`` and ends the run with exit code 1.
    """
    import atheris  # the coverage-guided engine, only needed here

    parser = argparse.ArgumentParser(description=f"Fuzz the {name} parser with atheris.")
    parser.add_argument("--seconds", type=int, default=60)
    known, extra = parser.parse_known_args()
    crashes = FUZZ_DIR / "crashes"
    crashes.mkdir(exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"ehcert-fuzz-{name}-")
    one_input = load_target(name)
    for function in _functions_of(("ehcert", "asn1crypto", "signxml", "fuzz_")):
        atheris.instrument_func(function)
    arguments = [
        sys.argv[0],
        f"-max_total_time={known.seconds}",
        f"-artifact_prefix={crashes}/{name}-",
        "-max_len=65536",
        "-rss_limit_mb=4096",
        *extra,
        scratch,
        str(CORPUS_DIR / name),
    ]
    atheris.Setup(arguments, one_input)
    atheris.Fuzz()
