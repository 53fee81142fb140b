"""The Certificate Manager's local web UI (``ehcert manager ui``).

A small server-rendered application for people who would rather not use a terminal:
it lists the keystores in a folder and runs the request, renew, revoke and
change-password flows of :mod:`ehcert.manager`. It listens on 127.0.0.1 only and every
URL carries a random secret (:mod:`ehcert.manager.web.security`). The application is
built by :func:`ehcert.manager.web.routes.create_manager_app` from the
:class:`ehcert.manager.web.app.ManagerSettings` and served by :mod:`.server`.
"""
