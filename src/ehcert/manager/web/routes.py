"""The Certificate Manager's pages: which URL runs which flow, behind the secret path.

:mod:`ehcert.manager.web.app` holds the application's state and the helpers every page
uses; :mod:`ehcert.manager.web.flows` the pages themselves, written against that state.
The eID step and the flows that follow it (request, revoking with the eID) are in
:mod:`.eid_step` and :mod:`.eid_flows`; the eHealthBox's pages in :mod:`.mailbox_flows`
and :mod:`.mailbox_absence`.
This module joins them, so that none imports the application's routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ehcert.manager.web import (
    digital_key_flows,
    eid_flows,
    eid_step,
    flows,
    mailbox_absence,
    mailbox_flows,
)
from ehcert.manager.web.app import STATIC_DIR, ManagerApp, ManagerSettings
from ehcert.manager.web.security import SecretPathGate

Handler = Callable[[ManagerApp, Request], Awaitable[Response]]


def create_manager_app(settings: ManagerSettings) -> SecretPathGate:
    """The ASGI application, already behind the secret-path gate."""
    state = ManagerApp(settings)

    def bind(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(state, request)

        return endpoint

    async def stylesheet(request: Request) -> Response:
        del request
        return FileResponse(STATIC_DIR / "style.css", media_type="text/css")

    routes = [
        Route("/", bind(flows.home), methods=["GET"]),
        Route("/static/style.css", stylesheet, methods=["GET"]),
        Route("/unlock", bind(flows.unlock), methods=["POST"]),
        Route("/eid/forget", bind(eid_step.eid_forget), methods=["POST"]),
        Route("/eid/{purpose}", bind(eid_step.eid_form), methods=["GET"]),
        Route("/eid/{purpose}", bind(eid_step.eid_submit), methods=["POST"]),
        Route("/request", bind(eid_flows.request_form), methods=["GET"]),
        Route("/request", bind(eid_flows.request_submit), methods=["POST"]),
        Route("/digital-key", bind(digital_key_flows.digital_key_form), methods=["GET"]),
        Route("/digital-key", bind(digital_key_flows.digital_key_submit), methods=["POST"]),
        Route("/revoke-eid", bind(eid_flows.revoke_eid_form), methods=["GET"]),
        Route("/revoke-eid", bind(eid_flows.revoke_eid_reason), methods=["POST"]),
        Route("/revoke-eid/confirm", bind(eid_flows.revoke_eid_confirm), methods=["POST"]),
        Route("/renew/{key}", bind(flows.renew_form), methods=["GET"]),
        Route("/renew/{key}", bind(flows.renew_submit), methods=["POST"]),
        Route("/revoke/{key}", bind(flows.revoke_form), methods=["GET"]),
        Route("/revoke/{key}", bind(flows.revoke_reason), methods=["POST"]),
        Route("/revoke/{key}/confirm", bind(flows.revoke_confirm), methods=["POST"]),
        Route("/password/{key}", bind(flows.password_form), methods=["GET"]),
        Route("/password/{key}", bind(flows.password_submit), methods=["POST"]),
        Route("/jobs/{job_id}", bind(flows.job_page), methods=["GET"]),
        Route("/mailbox", bind(mailbox_flows.mailbox_home), methods=["GET"]),
        Route("/mailbox/open", bind(mailbox_flows.mailbox_open), methods=["POST"]),
        Route("/mailbox/close", bind(mailbox_flows.mailbox_close), methods=["POST"]),
        Route("/mailbox/new", bind(mailbox_flows.compose_form), methods=["GET"]),
        Route("/mailbox/new", bind(mailbox_flows.compose_submit), methods=["POST"]),
        Route("/mailbox/send-held", bind(mailbox_flows.send_held), methods=["POST"]),
        Route("/mailbox/ooo", bind(mailbox_absence.ooo_page), methods=["GET"]),
        Route("/mailbox/ooo", bind(mailbox_absence.ooo_add), methods=["POST"]),
        Route("/mailbox/ooo/delete", bind(mailbox_absence.ooo_delete), methods=["POST"]),
        Route("/mailbox/{folder}", bind(mailbox_flows.folder_page), methods=["GET"]),
        Route("/mailbox/{folder}/{message_id}", bind(mailbox_flows.message_page), methods=["GET"]),
        Route(
            "/mailbox/{folder}/{message_id}/{part}",
            bind(mailbox_flows.download),
            methods=["GET"],
        ),
    ]
    return SecretPathGate(Starlette(routes=routes), settings.secret)
