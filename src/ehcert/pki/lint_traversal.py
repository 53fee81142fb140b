"""pkilint's validator traversal, with each node's candidate validators looked up once.

pkilint runs a document through a tree of :class:`~pkilint.validation.ValidatorContainer`:
at every node of the decoded document, every validator of a container is asked
``match(node)``, then the container recurses into the node's children. An end-entity
certificate has about 450 nodes and the RFC 5280 set about 80 validators, so a lint is
some 6,000 ``match`` calls, most of which say no for a reason that depends only on where
the node is (its path) and what it is (its pyasn1 type): a validator bound to a path,
a path pattern or a PDU class (:class:`~pkilint.document.NodeVisitor`). Those answers are
the same for every certificate of a profile.

:class:`IndexedValidator` runs the same validators, in the same order, on the same nodes,
with the same error handling as ``ValidatorContainer.validate``; it only leaves out the
``match`` calls that are known to say no from ``(container, path, type)``, remembered
after the first document. What depends on the node's content (a pdu supertype, a
predicate, a validator's own ``match``) is still asked of every node. A validator whose
class overrides ``match`` is always asked, unless its ``match`` is one of pkilint's that
begins with ``NodeVisitor.match`` (:data:`_STATIC_FIRST`). The findings are pkilint's:
``tests/pki/test_lint_traversal.py`` compares them with pkilint's own traversal.
"""

from __future__ import annotations

from typing import Any

from pkilint import document, validation
from pkilint.pkix import extension

# ``match`` implementations that return False whenever NodeVisitor.match does.
_STATIC_FIRST = frozenset(
    {
        document.NodeVisitor.match,
        validation.TypeMatchingValidator.match,
        extension.ExtensionCriticalityValidator.match,
    }
)
# How many (container, path, type) answers one validator tree remembers: the paths of the
# certificates the platform issues, with room; a CRL's entries (one path each) beyond
# that are looked up without being remembered.
MAX_REMEMBERED = 8192


def _statically_possible(visitor: Any, path: str, pdu_type: type) -> bool:
    """False when NodeVisitor.match would say no for any node at ``path`` of ``pdu_type``."""
    if visitor._path is not None and visitor._path != path:
        return False
    if visitor._path_re is not None and visitor._path_re.match(path) is None:
        return False
    return visitor._pdu_class is None or issubclass(pdu_type, visitor._pdu_class)


def _is_plain_container(visitor: Any) -> bool:
    """A container whose validation is ValidatorContainer's own (so it may be indexed)."""
    kind = type(visitor)
    return (
        isinstance(visitor, validation.ValidatorContainer)
        and kind.validate is validation.ValidatorContainer.validate
        and kind._validate_rec is validation.ValidatorContainer._validate_rec
        and kind.validate_wrapper is validation.Validator.validate_wrapper
    )


class IndexedValidator:
    """Validates documents as ``container.validate(root)`` does (module docstring)."""

    def __init__(self, container: Any) -> None:
        if not _is_plain_container(container):
            raise TypeError("IndexedValidator needs a plain pkilint ValidatorContainer")
        self._root = container
        self._candidates: dict[tuple[int, str, type], tuple[Any, ...]] = {}
        self._indexable: dict[int, bool] = {}

    def validate(self, root: Any) -> list[Any]:
        results: list[Any] = []
        self._visit(self._root, root, results)
        return results

    def _candidates_for(self, container: Any, node: Any) -> tuple[Any, ...]:
        key = (id(container), node.path, type(node.pdu))
        found = self._candidates.get(key)
        if found is None:
            found = tuple(
                v
                for v in container.validators
                if not self._static(v) or _statically_possible(v, key[1], key[2])
            )
            if len(self._candidates) < MAX_REMEMBERED:
                self._candidates[key] = found
        return found

    def _static(self, visitor: Any) -> bool:
        answer = self._indexable.get(id(visitor))
        if answer is None:
            answer = type(visitor).match in _STATIC_FIRST
            self._indexable[id(visitor)] = answer
        return answer

    def _visit(self, container: Any, node: Any, results: list[Any]) -> None:
        """``ValidatorContainer._validate_rec`` over the remembered candidates."""
        for visitor in self._candidates_for(container, node):
            if not visitor.match(node):
                continue
            if _is_plain_container(visitor):
                results += self._nested(visitor, node)
                continue
            result = visitor.validate_wrapper(node)
            if isinstance(result, list):
                results += result
            else:
                results.append(result)
        for child in node.children.values():
            self._visit(container, child, results)

    def _nested(self, container: Any, node: Any) -> list[Any]:
        """A nested container's ``validate_wrapper``: its findings, or the one FATAL
        finding pkilint reports when something in it raised."""
        found: list[Any] = []
        try:
            self._visit(container, node, found)
        except validation.ValidationFindingEncountered as raised:
            description = validation.ValidationFindingDescription(raised.finding, raised.message)
            return [validation.ValidationResult(container, node, [description])]
        except Exception as error:  # as pkilint's validate_wrapper does
            description = validation.ValidationFindingDescription(
                container.VALIDATION_FINDING_UNHANDLED_EXCEPTION, str(error)
            )
            return [validation.ValidationResult(container, node, [description])]
        return found
