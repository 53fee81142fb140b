"""The mailbox's decisions, apart from where messages are kept.

- **Which boxes a caller may use** (:func:`accessible_boxes`): a person's certificate
  opens the person's box (their SSIN with their registered quality) and the box of
  every institution they hold a mandate for now; an institution's certificate opens
  that institution's box. ``getAllEhboxesMessagesList`` lists all of them at once.
- **All or nothing** (:func:`resolve_recipients`, :func:`check_quotas`): a send is
  refused before anything is stored if any recipient is unknown, withdrawn, without a
  valid ETK, or its box is full; the refusal names every recipient at fault, not just
  the first, so the sender fixes them all at once.
- **Out of office** (:func:`absent_recipients`): a recipient with an absence covering
  today, not acknowledged by the sender (``OoOProcessed``), stops the send with
  :class:`RecipientsOutOfOffice`, which names each such recipient, the period and the
  substitutes; nothing is sent until the sender resends with the absence acknowledged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.core.identity import Identity
from ehcert.ehbox.model import BoxId, Destination
from ehcert.ehbox.ports import BoxDirectory, EtkAvailable


@dataclass(frozen=True, slots=True)
class Recipient:
    box: BoxId
    name: str
    copy: bool
    ooo_processed: bool


@dataclass(frozen=True, slots=True)
class Absence:
    """One out-of-office period (``OoO``): its id, the dates, the substitutes."""

    id: str
    start_date: dt.date
    end_date: dt.date
    substitutes: tuple[BoxId, ...]

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date


@dataclass(frozen=True, slots=True)
class AbsentRecipient:
    box: BoxId
    absence: Absence

    def to_dict(self) -> dict[str, object]:
        return {
            "box": str(self.box),
            "absent_from": self.absence.start_date.isoformat(),
            "absent_to": self.absence.end_date.isoformat(),
            "substitutes": [str(s) for s in self.absence.substitutes],
        }


class RecipientsOutOfOffice(EhcertError):
    """The distinct answer of a send to absent recipients: nothing was sent."""

    def __init__(self, absent: Sequence[AbsentRecipient]) -> None:
        parts = []
        for item in absent:
            who = ", ".join(str(s) for s in item.absence.substitutes) or "no substitute"
            parts.append(
                f"{item.box} is out of office from {item.absence.start_date} to "
                f"{item.absence.end_date} (substitutes: {who})"
            )
        super().__init__(
            ErrorKind.CONFLICT,
            "Nothing was sent: " + "; ".join(parts) + ". Send again with the absence "
            "acknowledged to deliver it anyway.",
            field="destinations",
        )
        self.absent = tuple(absent)


def person_name(directory: BoxDirectory, ssin: str) -> str | None:
    person = directory.person(ssin)
    return None if person is None else f"{person.first_name} {person.last_name}"


def accessible_boxes(identity: Identity, directory: BoxDirectory, now: dt.datetime) -> list[BoxId]:
    """The boxes ``identity`` may read and send from (module docstring), own box first."""
    holder = identity.holder
    if identity.method != "certificate" or holder is None:
        raise EhcertError(
            ErrorKind.UNAUTHORIZED, "The eHealthBox needs a request signed with an eHealth key."
        )
    if not holder.is_person:
        return [BoxId(holder.type, holder.value)]
    person = directory.person(holder.value)
    if person is None or person.status == "withdrawn":
        raise EhcertError(
            ErrorKind.NOT_IN_REGISTRY,
            f"SSIN {holder.value} is not a care provider in the registry, so has no eHealthBox.",
        )
    boxes = [BoxId("SSIN", holder.value, person.profession)]
    for institution in directory.mandated_institutions(holder.value, now):
        boxes.append(BoxId(institution.type, institution.value))
    return boxes


def choose_box(requested: BoxId | None, accessible: Sequence[BoxId]) -> BoxId:
    """The box a request names (``BoxId``, "use another of my ehBoxes"), or the own one."""
    if requested is None:
        return accessible[0]
    for box in accessible:
        if (box.type, box.value) == (requested.type, requested.value) and (
            requested.quality is None or requested.quality == box.quality
        ):
            return box
    raise EhcertError(
        ErrorKind.FORBIDDEN,
        f"You may not use the eHealthBox {requested}; yours are "
        f"{', '.join(str(b) for b in accessible)}.",
        field="box",
    )


def _resolve(box: BoxId, directory: BoxDirectory) -> tuple[BoxId, str] | str:
    """The recipient's full box and name, or why it is not a box."""
    if box.is_person:
        person = directory.person(box.value)
        if person is None:
            return f"{box} is not a care provider in the registry"
        if person.status == "withdrawn":
            return f"{box} is withdrawn from the registry"
        if box.quality is not None and box.quality != person.profession:
            return f"{box} has no box as {box.quality} (registered as {person.profession})"
        return box.with_quality(person.profession), f"{person.first_name} {person.last_name}"
    name = directory.institution_name(InstitutionId(box.type, box.value))
    if name is None:
        return f"{box} is not an institution in the registry"
    return box, name


def resolve_recipients(
    destinations: Sequence[Destination],
    directory: BoxDirectory,
    etk_available: EtkAvailable,
    now: dt.datetime,
) -> list[Recipient]:
    """Every destination as a box that exists and can be sealed to, or one refusal
    naming all those that cannot (``destinations[i]``)."""
    found: list[Recipient] = []
    faults: list[str] = []
    for destination in destinations:
        resolved = _resolve(destination.box, directory)
        if isinstance(resolved, str):
            faults.append(resolved)
            continue
        box, name = resolved
        if not etk_available(box, now):
            faults.append(f"{box} has no valid ETK (no current encryption certificate)")
            continue
        found.append(Recipient(box, name, destination.copy, destination.ooo_processed))
    if faults:
        raise EhcertError(
            ErrorKind.NOT_FOUND if all("registry" in f for f in faults) else ErrorKind.FORBIDDEN,
            "Nothing was sent: " + "; ".join(faults) + ".",
            field="destinations",
        )
    return found


def check_quotas(
    recipients: Sequence[Recipient],
    sender: BoxId,
    sizes: Mapping[str, int],
    message_size: int,
    max_box_bytes: int,
) -> None:
    """Refuse the send if it would fill the sender's or any recipient's box, naming each."""
    full = []
    for box in [sender, *(r.box for r in recipients)]:
        used = sizes.get(str(box), 0)
        if used + message_size > max_box_bytes:
            full.append(f"{box} (uses {used} of {max_box_bytes} bytes)")
    if full:
        raise EhcertError(
            ErrorKind.PAYLOAD_TOO_LARGE,
            f"Nothing was sent: this {message_size}-byte message does not fit in the box of "
            + ", ".join(dict.fromkeys(full))
            + "; the box's holder must delete messages first.",
            field="destinations",
        )


def absent_recipients(
    recipients: Sequence[Recipient], absences: Mapping[str, Sequence[Absence]], today: dt.date
) -> list[AbsentRecipient]:
    absent = []
    for recipient in recipients:
        if recipient.ooo_processed:
            continue
        covering = [a for a in absences.get(str(recipient.box), ()) if a.covers(today)]
        if covering:
            absent.append(AbsentRecipient(recipient.box, covering[0]))
    return absent
