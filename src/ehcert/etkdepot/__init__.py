"""The ETK depot: publishes holders' encryption tokens and answers GetEtk lookups.

Registration (proof of possession, then the depot signer) is decided in
``ra.etk_registration`` and signed by the CA; this package holds the lookup semantics.
"""
