"""The attribute designators the STS answers, and their values from the registry.

eHealth's STS names every attribute by a SAML 1.1 ``AttributeDesignator``: an
``AttributeName`` in an ``AttributeNamespace`` (SAML 1.1 core, section 2.4.4.1). It uses
two namespaces:

- ``urn:be:fgov:identification-namespace``: who the holder is (an SSIN, an institution's
  number); eHealth's clients send these with the value they claim, the STS checks them;
- ``urn:be:fgov:certified-namespace:ehealth``: what an authentic source certifies about
  the holder (a profession, a NIHII number, a recognised institution).

Every value here comes from the certificate (who holds the key) and the registry read
at the time of the request, never from the request: a request only *names* attributes.
As eHealth does, a requested boolean the holder does not have is answered ``false`` and
a requested value the holder does not have is left out; a name this STS does not know is
a refusal naming it, so a typing error is not mistaken for "not a doctor".

Names follow eHealth's published ones where they exist (``...:doctor:boolean``,
``...:ehealth:1.0:doctor:nihii11`` and its ``...:nihii:doctor:nihii11`` form, given name
and surname, ``...:hospital:nihii-number`` and ``...:recognisedhospital:boolean``). They
are generated per profession of :class:`~ehcert.core.identifiers.Profession` (its value
without hyphens) and per institution type of
:data:`~ehcert.core.identifiers.INSTITUTION_TYPES` (``NIHII-X`` becomes ``x``, lower case
without hyphens; CBE and EHP numbers become ``enterprise:cbe-number`` and
``ehp:ehp-number``), so a type added there is answered here without further code.

Profession attributes are certified only for a provider whose registry status is
``validated``; a ``pending`` provider still gets identification attributes (the
certificate proves who they are) and ``false`` for every profession.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import INSTITUTION_TYPES, Holder, Profession
from ehcert.registry.facts import InstitutionFacts, ProviderFacts

IDENTIFICATION_NAMESPACE = "urn:be:fgov:identification-namespace"
CERTIFIED_NAMESPACE = "urn:be:fgov:certified-namespace:ehealth"
MAX_DESIGNATORS = 64
"""Most designators one request may name: the whole catalogue for one holder is fewer."""

PERSON_SSIN = "urn:be:fgov:person:ssin"
HOLDER_SSIN = "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin"
GIVEN_NAME = "urn:be:fgov:person:ssin:ehealth:1.0:givenname"
SURNAME = "urn:be:fgov:person:ssin:ehealth:1.0:surname"

ValueKind = Literal["string", "boolean"]
AttributeValue = str | bool


@dataclass(frozen=True, slots=True)
class Designator:
    """One attribute's name and namespace (SAML 1.1 ``AttributeDesignatorType``)."""

    name: str
    namespace: str

    def __post_init__(self) -> None:
        for field, value in (("name", self.name), ("namespace", self.namespace)):
            if not isinstance(value, str):
                raise TypeError(f"designator {field} must be a string")
            if not value:
                raise ValueError(f"designator {field} must not be empty")


@dataclass(frozen=True, slots=True)
class HolderFacts:
    """The certificate's holder and what the registry says about it now."""

    holder: Holder
    provider: ProviderFacts | None = None
    institution: InstitutionFacts | None = None


@dataclass(frozen=True, slots=True)
class GrantedAttribute:
    """An attribute as the assertion states it; ``bool`` values are ``xs:boolean``."""

    designator: Designator
    value: AttributeValue


Resolver = Callable[[HolderFacts], AttributeValue | None]


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    designator: Designator
    kind: ValueKind
    resolve: Resolver


def _identification(name: str, resolve: Resolver) -> AttributeDefinition:
    return AttributeDefinition(Designator(name, IDENTIFICATION_NAMESPACE), "string", resolve)


def _certified(name: str, kind: ValueKind, resolve: Resolver) -> AttributeDefinition:
    return AttributeDefinition(Designator(name, CERTIFIED_NAMESPACE), kind, resolve)


# --- persons --------------------------------------------------------------------------------


def _person_ssin(facts: HolderFacts) -> str | None:
    return facts.holder.value if facts.holder.is_person else None


def _validated(facts: HolderFacts) -> ProviderFacts | None:
    provider = facts.provider
    if not facts.holder.is_person or provider is None or provider.status != "validated":
        return None
    return provider


def _given_name(facts: HolderFacts) -> str | None:
    return facts.provider.first_name if facts.holder.is_person and facts.provider else None


def _surname(facts: HolderFacts) -> str | None:
    return facts.provider.last_name if facts.holder.is_person and facts.provider else None


def _is_profession(profession: Profession) -> Resolver:
    def resolve(facts: HolderFacts) -> bool:
        provider = _validated(facts)
        return provider is not None and provider.profession == profession.value

    return resolve


def _nihii_of(profession: Profession) -> Resolver:
    def resolve(facts: HolderFacts) -> str | None:
        provider = _validated(facts)
        if provider is None or provider.profession != profession.value:
            return None
        return provider.nihii or None

    return resolve


def profession_token(profession: Profession) -> str:
    """How a profession appears inside an attribute name: ``speech-therapist`` ->
    ``speechtherapist``."""
    return profession.value.replace("-", "")


def _person_definitions() -> list[AttributeDefinition]:
    definitions = [
        _identification(HOLDER_SSIN, _person_ssin),
        _identification(PERSON_SSIN, _person_ssin),
        _certified(GIVEN_NAME, "string", _given_name),
        _certified(SURNAME, "string", _surname),
    ]
    for profession in Profession:
        token = profession_token(profession)
        definitions += [
            _certified(
                f"urn:be:fgov:person:ssin:{token}:boolean", "boolean", _is_profession(profession)
            ),
            _certified(
                f"urn:be:fgov:person:ssin:ehealth:1.0:{token}:nihii11",
                "string",
                _nihii_of(profession),
            ),
            _certified(
                f"urn:be:fgov:person:ssin:ehealth:1.0:nihii:{token}:nihii11",
                "string",
                _nihii_of(profession),
            ),
        ]
    return definitions


# --- institutions ---------------------------------------------------------------------------


def institution_kind(institution_type: str) -> tuple[str, str]:
    """The ``(kind, number)`` pair naming an institution type in attribute names.

    ``NIHII-HOSPITAL`` -> ``("hospital", "nihii-number")``; ``CBE`` ->
    ``("enterprise", "cbe-number")``; ``EHP`` -> ``("ehp", "ehp-number")``.
    """
    if institution_type.startswith("NIHII-"):
        return institution_type.removeprefix("NIHII-").lower().replace("-", ""), "nihii-number"
    if institution_type == "CBE":
        return "enterprise", "cbe-number"
    return institution_type.lower().replace("-", ""), f"{institution_type.lower()}-number"


def _institution_number(institution_type: str) -> Resolver:
    def resolve(facts: HolderFacts) -> str | None:
        return facts.holder.value if facts.holder.type == institution_type else None

    return resolve


def _recognised(institution_type: str) -> Resolver:
    """Recognised: the holder is of this type and the authentic source lists it."""

    def resolve(facts: HolderFacts) -> bool:
        return facts.holder.type == institution_type and facts.institution is not None

    return resolve


def _institution_definitions() -> list[AttributeDefinition]:
    definitions: list[AttributeDefinition] = []
    for institution_type in INSTITUTION_TYPES:
        kind, number = institution_kind(institution_type)
        for prefix in ("urn:be:fgov:ehealth:1.0", "urn:be:fgov:ehealth:1.0:certificateholder"):
            identifier = f"{prefix}:{kind}:{number}"
            definitions.append(_identification(identifier, _institution_number(institution_type)))
            if number == "nihii-number":
                definitions.append(
                    _certified(
                        f"{identifier}:recognised{kind}:boolean",
                        "boolean",
                        _recognised(institution_type),
                    )
                )
    return definitions


# --- the catalogue --------------------------------------------------------------------------


class AttributeCatalogue:
    """Every designator the STS answers, looked up by name (names are unique)."""

    def __init__(self, definitions: Iterable[AttributeDefinition]) -> None:
        by_name: dict[str, AttributeDefinition] = {}
        for definition in definitions:
            name = definition.designator.name
            if name in by_name:
                raise ValueError(f"attribute {name} is defined twice")
            by_name[name] = definition
        self._by_name: Mapping[str, AttributeDefinition] = by_name

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def definition(self, designator: Designator) -> AttributeDefinition:
        """The definition of ``designator``; an unknown one is refused by name."""
        found = self._by_name.get(designator.name)
        if found is None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"The attribute designator {designator.name} is not one this STS knows.",
                field="attributes",
            )
        if found.designator.namespace != designator.namespace:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"The attribute {designator.name} is in the namespace "
                f"{found.designator.namespace}, not {designator.namespace}.",
                field="attributes",
            )
        return found

    def designator(self, name: str, namespace: str | None = None) -> Designator:
        """A requested designator; the namespace may be left to the catalogue."""
        if namespace is None:
            known = self._by_name.get(name)
            namespace = known.designator.namespace if known else IDENTIFICATION_NAMESPACE
        designator = Designator(name, namespace)
        return self.definition(designator).designator

    def resolve(
        self, requested: Sequence[Designator], facts: HolderFacts
    ) -> tuple[GrantedAttribute, ...]:
        """The values of ``requested`` for ``facts``: booleans always, values when held."""
        granted: list[GrantedAttribute] = []
        for designator in requested:
            definition = self.definition(designator)
            value = definition.resolve(facts)
            if definition.kind == "boolean":
                granted.append(GrantedAttribute(definition.designator, bool(value)))
            elif value is not None:
                granted.append(GrantedAttribute(definition.designator, str(value)))
        return tuple(granted)

    def identification_of(self, holder: Holder) -> tuple[Designator, ...]:
        """What a request that names no attribute gets: the holder's identifiers."""
        if holder.is_person:
            names = [HOLDER_SSIN, PERSON_SSIN]
        else:
            kind, number = institution_kind(holder.type)
            names = [
                f"urn:be:fgov:ehealth:1.0:certificateholder:{kind}:{number}",
                f"urn:be:fgov:ehealth:1.0:{kind}:{number}",
            ]
        return tuple(self._by_name[name].designator for name in names)


CATALOGUE = AttributeCatalogue([*_person_definitions(), *_institution_definitions()])
"""The STS's attributes: persons by profession, institutions by type."""
