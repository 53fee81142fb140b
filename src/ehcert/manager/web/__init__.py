"""The Certificate Manager's local web UI (``ehcert manager ui``).

A small server-rendered application for people who would rather not use a terminal:
it lists the keystores in a folder and runs the request, renew, revoke and
change-password flows of :mod:`ehcert.manager`. It listens on 127.0.0.1 only and every
URL carries a random secret (:mod:`ehcert.manager.web.security`).
"""

from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.routes import create_manager_app

__all__ = ["ManagerSettings", "create_manager_app"]
