"""The eHealthBox: the secure mailbox of care providers and institutions (ehBox v3).

The published contract (``ehBoxPublication-v3.wsdl``, ``ehBoxConsultation-v3.wsdl`` and
the core XSD 3.0) gives the names, the limits and the semantics followed here, so that
a SOAP binding can later be a thin edge over the same service:

- ``ehbox.model``: boxes, folders, the publication (``SendMessageRequest``) and its
  limits, read from the JSON the HTTP edge received and validated field by field;
- ``ehbox.access``: the holder-of-key check of the STS assertion every request carries;
- ``ehbox.ports``: what the mailbox needs from the store, the registry and the depot;
- ``ehbox.mailbox``: the decisions (send all or nothing, folders, receipts, quotas,
  out of office, retention), each audited without content;
- ``ehbox.records``: what the operations answer, free of the store, for the edge;
- ``ehbox.adapters``, ``ehbox.publishing``, ``ehbox.views`` and ``ehbox.service``: the
  ports bound to the store, a checked message written with its parts streamed in, the
  stored rows as records, and the operations in their units of work
  (``store.unit_of_work``).

The server never holds a plaintext of an encryptable part: parts arrive sealed by the
sender's SDK (``client.ehbox``) and are stored as the opaque bytes they are.
"""
