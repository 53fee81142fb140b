"""The ASGI application of one API worker of ``ehcert serve --workers N``.

uvicorn's supervisor starts each worker as a fresh process that imports this factory;
the settings come from the ``EHCERT_*`` variables ``ehcert serve`` resolved and exported,
and the data directory was initialised by ``serve`` before the workers started.
"""

from __future__ import annotations

from fastapi import FastAPI

from ehcert.api.app import create_app
from ehcert.platform.root import Platform
from ehcert.settings import load_settings


def serving_app() -> FastAPI:
    """Open the platform of the exported settings, start its scheduled jobs (a daemon
    thread of this worker, ``platform.schedule``) and give its HTTP edge."""
    platform = Platform.open(load_settings(), initialise=False)
    platform.schedule.start()
    return create_app(platform.edge)
