"""The UI's words that come from code rather than templates, marked for translation.

Refusals reach the UI as :class:`~ehcert.core.errors.EhcertError` with an English
sentence (often the platform's own). The user reads a sentence in their language chosen
by the error's kind and field; when no specific wording exists, a translated lead
sentence says what kind of refusal it is and the original sentence follows, marked as
English, so no information is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.password import MIN_PASSWORD_LENGTH, PASSPHRASE_LENGTH, PasswordProblem
from ehcert.manager.web.i18n import N_, Translate

STEP_LABELS = {
    "checking": N_("Checking your eID and the keystore folder"),
    "checking-folder": N_("Checking the keystore folder"),
    "generating-key": N_("Generating a new key pair"),
    "requesting": N_("Asking the platform for the certificate"),
    "writing-keystore": N_("Writing the keystore"),
    "reading": N_("Opening the keystore with the old password"),
    "re-encrypting": N_("Encrypting it under the new password"),
    "verifying": N_("Checking the new file and replacing the old one"),
}

REASON_LABELS = {
    "unspecified": N_("No particular reason"),
    "keyCompromise": N_("The key or its password may be known to someone else"),
    "affiliationChanged": N_("My details or my organisation changed"),
    "superseded": N_("It has been replaced by a new certificate"),
    "cessationOfOperation": N_("I stopped the activity it was for"),
    "privilegeWithdrawn": N_("The right to hold it was withdrawn"),
}

HOLDER_KINDS = {
    "individual": N_("Individual"),
    "institution": N_("Institution"),
    "unknown": N_("Unknown"),
}

ENVIRONMENTS = {
    "acceptance": N_("Acceptance (test)"),
    "production": N_("Production"),
    None: N_("Not known"),
}

_PASSWORD_PROBLEMS = {
    PasswordProblem.EMPTY: N_("The new password is empty."),
    PasswordProblem.TOO_SHORT: N_(
        "The new password is too short: use at least %(count)s characters."
    ),
    PasswordProblem.TOO_SIMPLE: N_(
        "The new password is too simple: mix upper and lower case letters, digits and "
        "symbols, or use a sentence of at least %(long)s characters."
    ),
    PasswordProblem.COMMON: N_("The new password is one of the first ones anybody would try."),
}


def password_problem_text(problem: PasswordProblem, _: Translate) -> str:
    return _(_PASSWORD_PROBLEMS[problem], count=MIN_PASSWORD_LENGTH, long=PASSPHRASE_LENGTH)


@dataclass(frozen=True, slots=True)
class ShownError:
    """A refusal as shown: the sentence in the user's language, and the original if useful."""

    text: str
    original: str | None = None


_BY_KIND_AND_FIELD = {
    (ErrorKind.UNAUTHORIZED, "password"): N_("The keystore password is wrong."),
    (ErrorKind.UNAUTHORIZED, "pin"): N_(
        "The eID file cannot be opened: the PIN is wrong or the file is damaged."
    ),
    (ErrorKind.NOT_FOUND, "path"): N_("The file does not exist."),
    (ErrorKind.NOT_FOUND, "keystore"): N_("The keystore no longer exists."),
}
# A digital key's revocation (field ``username``) keeps its original sentence: it says
# when and why, and where to go next.
_LEAD_BY_KIND_AND_FIELD = {
    (ErrorKind.REVOKED, "username"): N_(
        "Your digital key has been revoked by the registration office."
    ),
}

_LEADS = {
    ErrorKind.UNAUTHORIZED: N_("Your identity could not be verified."),
    ErrorKind.FORBIDDEN: N_("This is not allowed."),
    ErrorKind.NOT_FOUND: N_("Something needed was not found."),
    ErrorKind.CONFLICT: N_("This conflicts with what already exists."),
    ErrorKind.NOT_IN_REGISTRY: N_("The platform's register does not know this holder."),
    ErrorKind.WITHDRAWN: N_("Your registration has been withdrawn."),
    ErrorKind.NO_MANDATE: N_("You hold no mandate for this institution."),
    ErrorKind.ATTESTATION_MISSING: N_("The institution lacks a required attestation."),
    ErrorKind.REVOKED: N_("The certificate is revoked."),
    ErrorKind.CERTIFICATE_EXPIRED: N_(
        "The certificate has expired; make a new request with your eID."
    ),
    ErrorKind.UNTRUSTED: N_("A certificate is not trusted."),
    ErrorKind.WRONG_ENVIRONMENT: N_(
        "This certificate belongs to the other environment (acceptance or production)."
    ),
    ErrorKind.UNAVAILABLE: N_("The platform or a device cannot be reached; try again later."),
    ErrorKind.MALFORMED: N_("Some information is not valid."),
    ErrorKind.BAD_KEY: N_("The key is not accepted."),
    ErrorKind.BAD_CSR: N_("The certificate request is not accepted."),
    ErrorKind.RATE_LIMITED: N_("Too many failed attempts: wait before you try again."),
}


def shown_error(error: EhcertError, _: Translate) -> ShownError:
    """The refusal in the user's language (see the module docstring)."""
    specific = _BY_KIND_AND_FIELD.get((error.kind, error.field or ""))
    if specific is not None:
        return ShownError(_(specific))
    lead = _LEAD_BY_KIND_AND_FIELD.get(
        (error.kind, error.field or ""), _LEADS.get(error.kind, N_("The operation failed."))
    )
    return ShownError(_(lead), error.detail)
