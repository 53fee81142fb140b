"""The eHealthBox from the care provider's side: send, list, read, move, delete, receipts.

:class:`EhboxClient` holds one keystore and talks to one platform:

- **access**: it gets an STS token for the keystore's authentication key by itself and
  renews it when less than half its validity is left (:class:`~ehcert.client.sts.
  StsClient`); every request is the platform's signed request (JWS, fresh nonce, exact
  URL) signed with that same key and carrying the token (``assertion``): holder-of-key;
- **sealing**: each encryptable part (``client.ehbox_messages``) is sealed on its own
  (:func:`ehcert.client.etee.seal`) for the ETK of every recipient, each looked up and
  verified at the depot exactly as ``ehcert seal`` does, plus the sender's own ETK, so
  the sent copy stays readable; the publication declares each sealed part's size and
  SHA-256 digest, which the box checks;
- **reading**: each part's bytes are checked against the declared digest, then unsealed
  with every key the keystore has ever held (so a renewed holder reads old mail), and
  reported with the data verdict and the trust verdict apart, as ``ehcert unseal``
  reports them;
- an out-of-office answer is raised as :class:`RecipientsOutOfOffice`, naming each
  absent recipient, the period and the substitutes; :meth:`EhboxClient.send` again with
  ``ooo_acknowledged`` delivers anyway.

Only ``httpx`` and ``ehcert.core`` / ``ehcert.pki`` / ``ehcert.client`` are used: this
works without the server installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from ehcert.client.answers import problem_to_error
from ehcert.client.ehbox_messages import (
    PARTS_MEDIA_TYPE,
    Draft,
    FramedReader,
    OpenedMessage,
    OpenedPart,
    encryptable_parts,
    framed_body,
    publication_fields,
)
from ehcert.client.etee import seal, unseal
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.platform import PlatformClient, normalise_serial
from ehcert.client.results import CertificateState
from ehcert.client.sts import StsClient
from ehcert.client.transport import DEFAULT_TIMEOUT_SECONDS, JOSE_JSON, PlatformHttp
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.jws import create_jws
from ehcert.pki.keystore_entries import Keystore
from ehcert.pki.revocation import RevocationChecker, RevocationStatus

PREFIX = "/ehbox/v3"
OUT_OF_OFFICE_TYPE = "urn:ehcert:problem:recipient-out-of-office"
_ALPHANUMERIC = string.ascii_letters + string.digits


class RecipientsOutOfOffice(EhcertError):
    """The box's answer that recipients are away; nothing was sent."""

    def __init__(self, detail: str, recipients: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(ErrorKind.CONFLICT, detail, field="destinations")
        self.recipients = [dict(r) for r in recipients]


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A draft sealed: the publication's fields with each part's size and digest, and the
    sealed parts in order. What the box will receive, nothing more."""

    publication: dict[str, Any]
    sealed: tuple[bytes, ...]


def _revocation(platform: PlatformClient, root: x509.Certificate) -> RevocationChecker:
    """Asks the platform about certificates it issued (as ``ehcert seal`` does)."""

    def check(certificate: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        if issuer.subject == root.subject:
            return RevocationStatus.good()
        status = platform.status(normalise_serial(format(certificate.serial_number, "x")))
        if status.status is CertificateState.REVOKED and status.revoked_at is not None:
            return RevocationStatus.revoked(None, status.revoked_at)
        return RevocationStatus.good()

    return check


def _etk_identifier(box: str) -> str:
    """The ETK depot's identifier of a box's holder: the box without its quality."""
    return box.split(":", 1)[0].strip()


class EhboxClient(PlatformHttp):
    """One keystore's eHealthBox at one platform (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        keystore: Keystore,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.keystore = keystore
        self.clock: Clock = clock or SystemClock()
        self.signer = KeyEntryRequestSigner(keystore.authentication())
        self.sts = StsClient(
            base_url, self.signer, clock=self.clock, timeout=timeout, transport=transport
        )
        self.platform = PlatformClient(base_url, timeout=timeout, transport=transport)
        self._root: x509.Certificate | None = None

    def close(self) -> None:
        self.sts.close()
        self.platform.close()
        super().close()

    # -- signed requests ---------------------------------------------------------------

    def _nonce(self) -> str:
        response = self._checked(self._send("GET", "/v1/nonce"))
        nonce = response.headers.get("Replay-Nonce")
        if not nonce:
            raise EhcertError(ErrorKind.INTERNAL, "The platform sent no Replay-Nonce header.")
        return str(nonce)

    def _signed_payload(self, payload: Mapping[str, object]) -> dict[str, object]:
        token = self.sts.token()
        return {**payload, "assertion": base64.b64encode(token.xml).decode("ascii")}

    def _jws(self, path: str, payload: Mapping[str, object]) -> bytes:
        body = json.dumps(self._signed_payload(payload), separators=(",", ":")).encode("utf-8")
        jws = create_jws(
            body,
            url=self.base_url + path,
            nonce=self._nonce(),
            chain=list(self.signer.chain),
            sign=self.signer.sign,
            alg=self.signer.alg,
        )
        return json.dumps(jws).encode("utf-8")

    def _call(self, operation: str, payload: Mapping[str, object]) -> dict[str, Any]:
        path = f"{PREFIX}/{operation}"
        response = self._post_jws(path, self._signed_payload(payload), self.signer, self._nonce)
        data = response.json()
        if not isinstance(data, dict):
            raise EhcertError(ErrorKind.INTERNAL, "The eHealthBox answered no JSON object.")
        return data

    # -- trust -------------------------------------------------------------------------

    def root(self) -> x509.Certificate:
        if self._root is None:
            self._root = self.platform.ca_certificates().root
        return self._root

    def recipient_certificate(self, box: str) -> x509.Certificate:
        """The encryption certificate of ``box``'s holder, from its verified ETK."""
        identifier = _etk_identifier(box)
        published = self.platform.etk(identifier)
        etk = parse_etk(published.der)
        now = self.clock.now()
        verdict = verify_etk(
            etk, anchors=[self.root()], at=now, revocation=_revocation(self.platform, self.root())
        )
        if not verdict.usable:
            raise EhcertError(
                ErrorKind.UNTRUSTED,
                f"The ETK of {identifier} cannot be used: {verdict.reason()}",
                field="to",
            )
        return etk.encryption_certificate

    # -- publication -------------------------------------------------------------------

    def prepare(self, draft: Draft) -> PreparedMessage:
        """Seal every encryptable part of ``draft`` for all recipients and the sender."""
        targets = [self.recipient_certificate(box) for box in [*draft.recipients, *draft.copies]]
        own = self.keystore.encryption_keys()
        if not own:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                "The keystore holds no encryption key, so the sent copy could not be read back.",
                field="keystore",
            )
        now = self.clock.now()
        sealed, declared = [], []
        for name, content in encryptable_parts(draft):
            blob = seal(
                content,
                sender=self.keystore.authentication(),
                recipients=targets,
                include_sender_encryption=own[0].certificate,
                signing_time=now,
            )
            sealed.append(blob)
            declared.append(
                {"name": name, "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
            )
        publication_id = draft.publication_id or "".join(
            secrets.choice(_ALPHANUMERIC) for _ in range(13)
        )
        publication = publication_fields(draft, publication_id)
        publication["parts"] = declared
        return PreparedMessage(publication, tuple(sealed))

    def publish(
        self, prepared: PreparedMessage, *, ooo_acknowledged: bool = False
    ) -> dict[str, Any]:
        """``sendMessage`` of a prepared message; see :class:`RecipientsOutOfOffice`."""
        publication = dict(prepared.publication)
        if ooo_acknowledged:
            publication["destinations"] = [
                {**d, "ooo_processed": True} for d in publication["destinations"]
            ]
        path = f"{PREFIX}/messages"
        for attempt in range(2):
            document = self._jws(path, publication)
            response = self._send(
                "POST",
                path,
                content=framed_body(document, prepared.sealed),
                headers={"Content-Type": PARTS_MEDIA_TYPE},
            )
            if response.is_success:
                return dict(response.json())
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                data = response.json()
                if data.get("type") == OUT_OF_OFFICE_TYPE:
                    raise RecipientsOutOfOffice(str(data.get("detail")), data.get("recipients", []))
            error = problem_to_error(response, self.base_url)
            if error.kind is not ErrorKind.BAD_NONCE or attempt == 1:
                raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def send(self, draft: Draft, *, ooo_acknowledged: bool = False) -> dict[str, Any]:
        """Seal and send ``draft``: the box's answer (message id, recipients, expiry)."""
        return self.publish(self.prepare(draft), ooo_acknowledged=ooo_acknowledged)

    # -- consultation ------------------------------------------------------------------

    def messages(
        self,
        folder: str = "INBOX",
        *,
        box: str | None = None,
        start: int = 1,
        end: int = 100,
        all_boxes: bool = False,
    ) -> dict[str, Any]:
        payload: dict[str, object] = {"source": folder, "start_index": start, "end_index": end}
        if all_boxes:
            return self._call("messages/all", payload)
        if box is not None:
            payload["box"] = box
        return self._call("messages/list", payload)

    def fetch(
        self, message_id: str, *, folder: str = "INBOX", box: str | None = None
    ) -> tuple[dict[str, Any], list[bytes]]:
        """``getFullMessage`` as stored: the JSON and each sealed part's bytes, unopened."""
        path = f"{PREFIX}/messages/full"
        payload: dict[str, object] = {"source": folder, "message_id": message_id}
        if box is not None:
            payload["box"] = box
        document = self._jws(path, payload)
        try:
            with self._http.stream(
                "POST", self.base_url + path, content=document, headers={"Content-Type": JOSE_JSON}
            ) as response:
                if not response.is_success:
                    response.read()
                    raise problem_to_error(response, self.base_url)
                reader = FramedReader(response.iter_bytes())
                head = json.loads(reader.head())
                parts = [reader.part(int(p["size"])) for p in head["parts"]]
        except httpx.TransportError as error:
            raise EhcertError(
                ErrorKind.UNAVAILABLE,
                f"The platform at {self.base_url} cannot be reached: {error}.",
            ) from None
        return head, parts

    def get(
        self, message_id: str, *, folder: str = "INBOX", box: str | None = None
    ) -> OpenedMessage:
        """The full message, each part checked against its digest, unsealed and judged."""
        head, blobs = self.fetch(message_id, folder=folder, box=box)
        now = self.clock.now()
        revocation = _revocation(self.platform, self.root())
        opened = []
        for declared, blob in zip(head["parts"], blobs, strict=True):
            name = str(declared["name"])
            matches = hashlib.sha256(blob).hexdigest() == declared["sha256"]
            try:
                result = unseal(
                    blob, [self.keystore], anchors=[self.root()], at=now, revocation=revocation
                )
            except EhcertError as error:
                opened.append(OpenedPart(name, None, matches, None, error.detail))
                continue
            problem = (
                None if matches else f"Part {name} does not match the digest its sender declared."
            )
            content = result.content if matches else None
            opened.append(OpenedPart(name, content, matches, result.report, problem))
        return OpenedMessage(str(head["message_id"]), head, tuple(opened))

    def history(
        self, message_id: str, *, folder: str = "INBOX", box: str | None = None
    ) -> list[str]:
        payload: dict[str, object] = {"source": folder, "message_id": message_id}
        if box is not None:
            payload["box"] = box
        return list(self._call("messages/history", payload)["message_ids"])

    def acknowledgments(
        self, message_id: str, *, box: str | None = None, start: int = 1, end: int = 100
    ) -> dict[str, Any]:
        payload: dict[str, object] = {
            "message_id": message_id,
            "start_index": start,
            "end_index": end,
        }
        if box is not None:
            payload["box"] = box
        return self._call("messages/acknowledgments", payload)

    def box_info(self, *, box: str | None = None) -> dict[str, Any]:
        return self._call("box-info", {} if box is None else {"box": box})

    # -- changes -----------------------------------------------------------------------

    def move(
        self, message_ids: Sequence[str], *, source: str, destination: str, box: str | None = None
    ) -> list[str]:
        payload: dict[str, object] = {
            "source": source,
            "destination": destination,
            "message_ids": list(message_ids),
        }
        if box is not None:
            payload["box"] = box
        return list(self._call("messages/move", payload)["message_ids"])

    def delete(
        self, message_ids: Sequence[str], *, source: str, box: str | None = None
    ) -> list[str]:
        payload: dict[str, object] = {"source": source, "message_ids": list(message_ids)}
        if box is not None:
            payload["box"] = box
        return list(self._call("messages/delete", payload)["message_ids"])

    # -- out of office -------------------------------------------------------------------

    def set_out_of_office(
        self, start: str, end: str, substitutes: Sequence[str] = (), *, box: str | None = None
    ) -> dict[str, Any]:
        payload: dict[str, object] = {
            "start_date": start,
            "end_date": end,
            "substitutes": list(substitutes),
        }
        if box is not None:
            payload["box"] = box
        return self._call("ooo/insert", payload)

    def out_of_office(self, *, box: str | None = None) -> list[dict[str, Any]]:
        return list(self._call("ooo/list", {} if box is None else {"box": box})["ooo"])

    def clear_out_of_office(self, ooo_ids: Sequence[str], *, box: str | None = None) -> list[str]:
        payload: dict[str, object] = {"ooo_ids": list(ooo_ids)}
        if box is not None:
            payload["box"] = box
        return list(self._call("ooo/delete", payload)["ooo_ids"])
