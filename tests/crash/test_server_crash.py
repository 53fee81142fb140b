"""SIGKILL of ``ehcert serve`` under load, on SQLite and PostgreSQL; two processes racing.

See ``crash_driver`` for what is checked and how. ``make test`` plays a few rounds of a
few dozen operations per backend (seeded: ``EHCERT_CRASH_SEED``); ``make crash`` plays
many more (``EHCERT_CRASH_ROUNDS``, ``EHCERT_CRASH_OPERATIONS``).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from crash_driver import (
    Acks,
    Operation,
    Plan,
    Served,
    check_consistency,
    check_ocsp,
    free_port,
    play,
    read_ledger,
    seed_platform,
    serving,
)

from conftest import OPERATIONS, ROUNDS, SEED, database_url
from ehcert.core.errors import ErrorKind

pytestmark = pytest.mark.slow
CLIENTS = 12


def _copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_under_load_loses_nothing(
    backend: str, past_ca: Path, key_pool: list, crash_now, tmp_path: Path
) -> None:
    data_dir = _copy(past_ca, tmp_path / "data")
    renewals = revocations = OPERATIONS // 4
    requests = OPERATIONS - renewals - revocations
    with database_url(backend, data_dir) as db_url:
        keys = list(key_pool)
        fleet = seed_platform(
            data_dir, db_url, people=6, renewable=renewals * ROUNDS + revocations,
            keys=iter(keys[:renewals * ROUNDS + revocations]), now=crash_now,
        )  # fmt: skip
        seeded = fleet.renewable
        rng = random.Random(f"{SEED}-{backend}")
        plan = Plan(
            rng,
            keys[len(seeded) :],
            fleet.people,
            seeded[revocations:],
            [(held.owner, held.serial) for held in seeded[:revocations]],
        )
        served = Served(data_dir, db_url, free_port(), tmp_path / "serve.log")
        acks, offered = Acks(), set[str]()
        with serving([served]):
            for _ in range(ROUNDS):
                operations = plan.round(
                    [served.url], requests=requests, renewals=renewals, revocations=revocations
                )
                kill_after = rng.randint(len(operations) // 4, 3 * len(operations) // 4)
                play(
                    operations, acks, clients=CLIENTS, kill_after=kill_after,
                    kill=served.kill, rng=rng,
                )  # fmt: skip
                served.start()
                check_consistency([served], db_url, data_dir, fleet, acks)
                plan.revocable_later(acks, offered)
    print(
        f"\n{backend}: {ROUNDS} SIGKILLs; acknowledged {len(acks.issued)} certificates "
        f"({sum(map(len, acks.renewed.values()))} renewals), {len(acks.revoked)} "
        f"revocations; {acks.unknown} answers lost in the kills"
    )
    assert acks.refused == []  # nothing here is refusable: every refusal is a finding
    assert len(acks.issued) >= ROUNDS * 3  # the rounds did real work before each kill
    assert acks.renewed
    assert acks.revoked


def test_two_processes_race_renewals_and_revocations(
    past_ca: Path, key_pool: list, crash_now, tmp_path: Path
) -> None:
    """Two ``serve`` on one PostgreSQL; two clients per certificate, one per process."""
    data_dir = _copy(past_ca, tmp_path / "data")
    targets = 16
    with database_url("postgresql", data_dir) as db_url:
        fleet = seed_platform(
            data_dir, db_url, people=4, renewable=2 * targets, keys=iter(key_pool), now=crash_now
        )
        keys = list(key_pool[2 * targets :])
        to_renew, to_revoke = fleet.renewable[:targets], fleet.renewable[targets:]
        first = Served(data_dir, db_url, free_port(), tmp_path / "serve-1.log")
        second = Served(data_dir, db_url, free_port(), tmp_path / "serve-2.log")
        with serving([first, second]) as both:
            # Both processes answer OCSP (and cache the answers) before the race.
            check_ocsp(both, fleet, read_ledger(db_url).certificates)
            operations = [
                Operation("renew", process.url, held=held, key=keys.pop())
                for held in to_renew
                for process in both
            ] + [
                Operation(
                    "revoke",
                    process.url,
                    person=held.owner,
                    serial=held.serial,
                    reason="keyCompromise",
                )
                for held in to_revoke
                for process in both
            ]
            random.Random(SEED).shuffle(operations)
            acks = Acks()
            play(operations, acks, clients=CLIENTS)
            ledger = read_ledger(db_url)
            for held in to_renew:
                successors = [
                    row.serial_hex
                    for row in ledger.certificates.values()
                    if row.predecessor_serial_hex == held.serial
                ]
                assert len(successors) == 1, f"{held.serial} renewed {len(successors)} times"
                assert acks.renewed[held.serial] == successors
            for held in to_revoke:
                assert acks.revoked.get(held.serial) == "keyCompromise"
            refusals = sorted((operation, kind) for operation, kind, _ in acks.refused)
            conflicts = [("renew", ErrorKind.CONFLICT), ("revoke", ErrorKind.CONFLICT)]
            assert refusals == sorted(conflicts * targets), acks.refused
            assert acks.unknown == 0
            check_consistency(both, db_url, data_dir, fleet, acks)
