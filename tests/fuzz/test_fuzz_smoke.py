"""A short run of every fuzz target of ``fuzz/`` inside ``make test``.

Each target gets every file of its kept corpus (``fuzz/corpus/<target>/``: real files and
the inputs that once crashed a parser) plus a few hundred deterministic mutations of
them. A target fails on any exception that is not a clear refusal (see
``fuzz/fuzzing.py``). The coverage-guided runs are ``make fuzz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

import fuzzing  # noqa: E402  (fuzz/ is not a package: its targets are run as scripts)

MUTATIONS = {"ocsp": 150}  # each OCSP answer is signed: fewer, to keep the smoke short
DEFAULT_MUTATIONS = 300


@pytest.mark.parametrize("target", fuzzing.TARGETS)
def test_target_refuses_clearly(target: str) -> None:
    one_input = fuzzing.load_target(target)
    corpus = fuzzing.corpus_files(target)
    assert corpus, f"fuzz/corpus/{target} is empty"
    for path in corpus:
        try:
            one_input(path.read_bytes())
        except fuzzing.UnclearRejection as failure:
            pytest.fail(f"corpus file {path.name}: {failure}")
    for index, data in enumerate(
        fuzzing.mutations(target, MUTATIONS.get(target, DEFAULT_MUTATIONS))
    ):
        try:
            one_input(data)
        except fuzzing.UnclearRejection as failure:
            pytest.fail(f"mutation {index} ({data[:60]!r}...): {failure}")


def test_every_target_has_a_module_and_a_corpus() -> None:
    modules = {p.stem.removeprefix("fuzz_") for p in FUZZ_DIR.glob("fuzz_*.py")}
    assert modules - {"context"} == set(fuzzing.TARGETS)
    assert {p.name for p in (FUZZ_DIR / "corpus").iterdir()} == set(fuzzing.TARGETS)


def test_an_unclear_rejection_is_caught() -> None:
    """The rule itself: a library's KeyError escaping a parser is reported."""
    with pytest.raises(fuzzing.UnclearRejection), fuzzing.refused_clearly():
        {}["missing"]
    with fuzzing.refused_clearly((ValueError,), ("SSIN",)):
        from ehcert.core.identifiers import Ssin

        Ssin("12345678901")
    with pytest.raises(fuzzing.UnclearRejection), fuzzing.refused_clearly((ValueError,)):
        int("not a number")
