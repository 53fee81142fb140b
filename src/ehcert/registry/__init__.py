"""The authentic source of care providers, institutions and mandates (see ``service``)."""
