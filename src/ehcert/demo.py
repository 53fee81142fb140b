"""The demo registry of ``ehcert serve --demo``: people to try the platform with.

Three doctors, a nurse, a pharmacist, and a hospital whose IT manager holds the mandate
of certificate holder. Each person gets a test eID (acceptance only) in
``<data dir>/demo/<SSIN>/eid.p12`` with its PIN in ``pin.txt`` beside it. In acceptance
one software integrator is registered too (``registry.integrators``; production has
none), with its one-time enrolment secret in
``<data dir>/demo/integrator/enrolment-secret.txt`` (docs/integrator-guide.md). Seeding
is idempotent: a second ``--demo`` start reuses what is there.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ehcert.core.identifiers import InstitutionId
from ehcert.operations import issue_test_eid
from ehcert.pki.files import write_private_file
from ehcert.platform import Platform
from ehcert.registry.integrators import IntegratorRegistry
from ehcert.registry.service import RegistryService


@dataclass(frozen=True, slots=True)
class DemoPerson:
    ssin: str
    first_name: str
    last_name: str
    profession: str | None  # None: not a care provider (the hospital's IT manager)
    nihii: str | None = None
    # The test eID's key: ec-p384 as on every Belgian eID card since applet 1.8 (2021),
    # rsa-2048 as on the older cards still in use.
    eid_key_type: str = "rsa-2048"


DEMO_PEOPLE = (
    DemoPerson("79021802145", "Bryan", "Brouckaert", "doctor", "10012345001"),
    DemoPerson("85071212390", "Zoë", "Lefèvre", "doctor", "10023456002", "ec-p384"),
    DemoPerson("92030404542", "Pieter", "Van den Bossche", "doctor", "10034567003"),
    DemoPerson("88112006794", "Amélie", "Dubois", "nurse", "40045678004"),
    DemoPerson("75060508920", "Koen", "Janssens", "pharmacist", "50056789005"),
    DemoPerson("66010123462", "Inge", "Maes", None),
)
DEMO_HOSPITAL = InstitutionId("NIHII-HOSPITAL", "71000436")
DEMO_HOSPITAL_NAME = "AZ Demo Ziekenhuis"
DEMO_HOLDER = "66010123462"
DEMO_APPLICATION = "LABGATEWAY"  # the hospital's lab gateway, as in the README
DEMO_INTEGRATOR_CBE = "0123456749"
DEMO_INTEGRATOR_NAME = "Demo Software NV"
DEMO_INTEGRATOR_FORM = "DEMO-FORM-0001"


@dataclass(frozen=True, slots=True)
class SeededPerson:
    person: DemoPerson
    eid_path: Path
    pin_path: Path


def seed_demo(platform: Platform) -> list[SeededPerson]:
    registry = RegistryService(platform.database)
    now = platform.now()
    for person in DEMO_PEOPLE:
        if person.profession and registry.find_provider(person.ssin) is None:
            registry.add_provider(
                ssin=person.ssin,
                nihii=person.nihii,
                profession=person.profession,
                first_name=person.first_name,
                last_name=person.last_name,
                status="validated",
                now=now,
            )
    if registry.find_institution(DEMO_HOSPITAL) is None:
        registry.add_institution(
            DEMO_HOSPITAL, DEMO_HOSPITAL_NAME, dt.date(2026, 1, 15), "IVC/KSZG/26/042", now=now
        )
        registry.add_mandate(DEMO_HOSPITAL, DEMO_HOLDER, now, None, now=now)
    seeded: list[SeededPerson] = []
    if platform.settings.environment != "acceptance":
        return seeded  # production: real eID cards only, and no integrators
    integrators = IntegratorRegistry(platform.database, platform.settings.environment)
    if integrators.integrator(DEMO_INTEGRATOR_CBE) is None:
        integrators.add(DEMO_INTEGRATOR_CBE, DEMO_INTEGRATOR_NAME, DEMO_INTEGRATOR_FORM, now=now)
        folder = demo_integrator_folder(platform)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = integrators.new_enrolment_secret(DEMO_INTEGRATOR_CBE, now=now)
        write_private_file(folder / "enrolment-secret.txt", (secret.secret + "\n").encode())
    if platform.hierarchy.eid_ca is None:
        return seeded
    for person in DEMO_PEOPLE:
        folder = platform.settings.data_dir / "demo" / person.ssin
        eid_path, pin_path = folder / "eid.p12", folder / "pin.txt"
        if not eid_path.exists():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            pin = f"{secrets.randbelow(10**4):04d}"
            issue_test_eid(
                platform,
                person.ssin,
                pin,
                first_name=person.first_name,
                last_name=person.last_name,
                out=eid_path,
                key_type=person.eid_key_type,
            )
            pin_path.write_text(pin + "\n", encoding="utf-8")
            pin_path.chmod(0o600)
        seeded.append(SeededPerson(person, eid_path, pin_path))
    return seeded


def demo_integrator_folder(platform: Platform) -> Path:
    """Where the demo integrator's enrolment secret is written."""
    return platform.settings.data_dir / "demo" / "integrator"


def print_walkthrough(
    platform: Platform, seeded: list[SeededPerson], stderr_console: Console
) -> None:
    """Tell the operator of ``serve --demo`` who was seeded and what to try next.

    The console comes from the command line that started the demo, so this module
    depends on no command-line module (``serve`` imports it, not the other way round).
    """
    url = platform.settings.base_url
    stderr_console.print(f"\n[bold]Demo registry ready[/bold] on {url}")
    for entry in seeded:
        role = entry.person.profession or f"certificate holder of {DEMO_HOSPITAL}"
        card = (
            " (EC P-384 eID, as cards since 2021)"
            if entry.person.eid_key_type != "rsa-2048"
            else ""
        )
        stderr_console.print(
            f"  {entry.person.first_name} {entry.person.last_name} ({role}){card}: {entry.eid_path}"
        )
    if not seeded:
        return
    stderr_console.print(
        f"  {DEMO_INTEGRATOR_NAME} (software integrator, CBE {DEMO_INTEGRATOR_CBE}, "
        f"request form {DEMO_INTEGRATOR_FORM}): enrolment secret in "
        f"{demo_integrator_folder(platform) / 'enrolment-secret.txt'} "
        "(docs/integrator-guide.md)",
        markup=False,
    )
    doctor, holder = seeded[0], seeded[-1]
    stderr_console.print("\nTry, in another terminal (the README's walkthrough goes on from here):")
    stderr_console.print(
        f"  export EHCERT_PLATFORM={url}\n"
        "  printf 'choose-a-long-password\\n' > /tmp/ks-password\n"
        f"  .venv/bin/ehcert cert request --eid {doctor.eid_path} "
        f"--pin-file {doctor.pin_path} --out-dir /tmp/keystores "
        "--password-file /tmp/ks-password\n"
        f"  .venv/bin/ehcert cert request --eid {holder.eid_path} "
        f"--pin-file {holder.pin_path} --institution {DEMO_HOSPITAL} "
        f"--application {DEMO_APPLICATION} "
        "--out-dir /tmp/keystores --password-file /tmp/ks-password\n",
        markup=False,
    )
