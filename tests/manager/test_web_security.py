"""The local UI refuses whoever lacks the secret URL, forged forms and foreign hosts.

The UI is served for real (uvicorn on a loopback port, in a thread) and spoken to over
HTTP with httpx, the way another local program or a malicious page's requests would
reach it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ehcert.manager.keystores import find_keystores
from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.security import SESSION_COOKIE, new_secret
from ehcert.manager.web.server import bind_loopback, running_ui

from .conftest import PASSWORD


@pytest.fixture
def ui(keystore_dir: Path) -> Iterator[str]:
    settings = ManagerSettings(keystore_dir=keystore_dir, platform_url=None, secret=new_secret())
    with running_ui(settings, bind_loopback(0)) as url:
        yield url


def _origin(url: str) -> str:
    return url.split("/s/", maxsplit=1)[0]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_without_the_secret_every_path_is_a_bare_404(ui: str) -> None:
    origin = _origin(ui)
    secret = ui.split("/s/")[1].strip("/")
    for path in (
        "/",
        "/s/",
        f"/s/{secret[:-1]}/",
        f"/s/{secret}x/",
        "/static/style.css",
        "/request",
    ):
        answer = httpx.get(origin + path)
        assert answer.status_code == 404, path
        assert answer.content == b""
    assert httpx.get(ui).status_code == 200


def test_a_foreign_host_name_is_refused_against_dns_rebinding(ui: str) -> None:
    assert httpx.get(ui, headers={"Host": "evil.example"}).status_code == 404
    assert httpx.get(ui, headers={"Host": "localhost"}).status_code == 200


def test_pages_carry_strict_security_headers_and_a_scoped_session_cookie(ui: str) -> None:
    answer = httpx.get(ui)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "script-src" not in csp  # no scripts at all
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert f"Path=/s/{ui.split('/s/')[1]}" in cookie


def _unlock(client: httpx.Client, ui: str, **overrides: str | None) -> httpx.Response:
    page = client.get(ui)
    key = find_keystores_key(page.text)
    form = {"csrf": _csrf(page.text), "key": key, "password": PASSWORD}
    headers = {"Origin": _origin(ui)}
    for name, value in overrides.items():
        if name in form:
            if value is None:
                del form[name]
            else:
                form[name] = value
        elif value is None:
            headers.pop(name.capitalize(), None)
        else:
            headers[name.capitalize()] = value
    return client.post(ui + "unlock", data=form, headers=headers)


def find_keystores_key(html: str) -> str:
    match = re.search(r'name="key" value="([0-9a-f]{16})"', html)
    assert match is not None
    return match.group(1)


def test_a_proper_form_is_accepted(ui: str, keystore_dir: Path) -> None:
    with httpx.Client() as client:
        answer = _unlock(client, ui)
        assert answer.status_code == 303
        home = client.get(ui)
    assert "Unlocked " in home.text
    assert {k.key for k in find_keystores(keystore_dir)} >= {find_keystores_key(home.text)}


@pytest.mark.parametrize(
    "forgery",
    [
        {"csrf": None},
        {"csrf": "guessed"},
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": None},
    ],
    ids=["no-token", "wrong-token", "foreign-origin", "null-origin", "no-origin-no-referer"],
)
def test_forged_forms_are_refused(ui: str, forgery: dict[str, str | None]) -> None:
    with httpx.Client() as client:
        answer = _unlock(client, ui, **forgery)
        assert answer.status_code == 403
        assert "Unlocked" not in client.get(ui).text


def test_a_form_without_a_session_is_refused(ui: str) -> None:
    page = httpx.get(ui)
    form = {"csrf": _csrf(page.text), "key": find_keystores_key(page.text), "password": PASSWORD}
    answer = httpx.post(ui + "unlock", data=form, headers={"Origin": _origin(ui)})
    assert answer.status_code == 403
    assert "Your session has ended" in answer.text


def test_a_referer_from_this_page_stands_in_for_a_missing_origin(ui: str) -> None:
    with httpx.Client() as client:
        answer = _unlock(client, ui, origin=None, referer=ui)
        assert answer.status_code == 303


def test_jobs_of_one_browser_are_invisible_to_another(ui: str, keystore_dir: Path) -> None:
    with httpx.Client() as owner:
        page = owner.get(ui)
        key = find_keystores_key(page.text)
        form = {
            "csrf": _csrf(page.text),
            "old_password": PASSWORD,
            "new_password": "Another-Password-9!",
            "new_password_confirm": "Another-Password-9!",
        }
        started = owner.post(ui + f"password/{key}", data=form, headers={"Origin": _origin(ui)})
        assert started.status_code == 303
        job_url = _origin(ui) + started.headers["location"]
        assert owner.get(job_url).status_code == 200
    stranger = httpx.get(job_url)
    assert stranger.status_code == 404
    assert "Unknown task" in stranger.text


def test_the_ui_command_prints_its_secret_url_first_and_binds_loopback(keystore_dir: Path) -> None:
    script = (
        "import typer\n"
        "from ehcert.cli.manager import manager_app\n"
        "root = typer.Typer()\n"
        "root.add_typer(manager_app, name='manager')\n"
        "root()\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "manager",
            "ui",
            "--no-browser",
            "--keystore-dir",
            str(keystore_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43}/", url), url
        for _ in range(100):
            try:
                answer = httpx.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer.status_code == 200
        assert "Your keystores" in answer.text
        assert httpx.get(_origin(url) + "/").status_code == 404
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_eid_form_with_a_file_keeps_every_check_and_never_echoes_the_pin(ui: str) -> None:
    files = {"eid_file": ("eid.p12", b"\x30\x82 not really a keystore", "application/x-pkcs12")}
    with httpx.Client() as client:
        csrf = _csrf(client.get(ui + "eid/request").text)
        form = {"csrf": csrf, "source": "file", "pin": "8642-secret-pin"}
        origin = {"Origin": _origin(ui)}
        answer = client.post(ui + "eid/request", data=form, files=files, headers=origin)
        # Read as a form (the token matched); refused for want of a platform, not forged.
        assert answer.status_code == 400
        assert "No platform address was given" in answer.text
        assert "8642-secret-pin" not in answer.text
        forged = {**form, "csrf": "guessed"}
        assert (
            client.post(ui + "eid/request", data=forged, files=files, headers=origin).status_code
            == 403
        )
        foreign = {"Origin": "http://evil.example"}
        assert (
            client.post(ui + "eid/request", data=form, files=files, headers=foreign).status_code
            == 403
        )
        large = {"eid_file": ("eid.p12", b"\x00" * (300 * 1024), "application/x-pkcs12")}
        assert (
            client.post(ui + "eid/request", data=form, files=large, headers=origin).status_code
            == 403
        )
        # Elsewhere a multipart body is not accepted at all.
        assert client.post(ui + "unlock", data=form, files=files, headers=origin).status_code == 403
