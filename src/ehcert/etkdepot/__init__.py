"""The ETK depot: registers holders' encryption tokens and answers GetEtk lookups.

Its parts live here together: ``registration`` (proof of possession of the encryption
key, eHealth's rules for the encryption certificate), ``lookup`` (GetEtk semantics),
``ports`` (what registration needs), ``adapters`` (those ports and the lookup index over
the store) and ``service`` (each operation in its unit of work). Building and reading
the token itself is PKI (``pki.etk_build``, ``pki.etk``); the CA's depot signer signs it
(``ca.authority``, profile ``pki.profiles.service_signer_builder``); its tables are ``store.etks``.
"""
