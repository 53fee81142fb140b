"""Who is asking: what an authentication proved, as every service receives it.

The HTTP edge (``api.authentication``) verifies the proof of a signed request and the
operator's console names its operator; both hand a service an :class:`Identity`, and
the service decides what that identity may do (step-ca's provisioners return such
claims the same way). Methods:

- ``eid``: a Belgian eID authentication key (or the acceptance environment's test eID);
  the SSIN is the certificate's subject ``serialNumber`` (eID card profile);
- ``certificate``: the key of a current eHealth certificate this platform issued;
- ``digital-key``: the username, password and single-use TOTP code of a digital key a
  registration office issued after checking an identity document in person (the
  hybrid method, for people without a Belgian eID; ``ra.digital_key``);
- ``integrator``: a software integrator of the acceptance environment, proven by the
  key of its integrator certificate (``ra.integrators``); it acts on the test
  identities it made and on nothing else;
- ``admin``: an operator at the platform's own console (``ehcert admin``); never
  reachable over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ehcert.core.identifiers import Holder

Method = Literal["eid", "certificate", "digital-key", "integrator", "admin"]


@dataclass(frozen=True, slots=True)
class Identity:
    """What an authentication proved.

    ``ssin`` is the natural person behind the request when known (eID; or the holder of
    a person's certificate). ``certificate_serial`` and ``holder`` are set for the
    ``certificate`` method: the proof is possession of that certificate's key.
    """

    method: Method
    ssin: str | None
    display_name: str
    certificate_serial: str | None = None
    holder: Holder | None = None
    digital_key: str | None = None
    integrator: str | None = None  # the integrator's CBE number (method ``integrator``)

    @property
    def actor(self) -> str:
        """How the audit log names this identity."""
        if self.method == "certificate":
            return f"certificate:{self.certificate_serial}"
        if self.method == "eid":
            return f"eid:SSIN={self.ssin}"
        if self.method == "digital-key":
            return f"digital-key:{self.digital_key}"
        if self.method == "integrator":
            return f"integrator:CBE={self.integrator}"
        return f"admin:{self.display_name}"


def admin_identity(operator: str) -> Identity:
    return Identity("admin", None, operator or "operator")
