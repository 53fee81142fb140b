"""The load generator of the HTTP benchmarks: ``wrk`` (Debian), on 127.0.0.1 only.

``wrk`` is written in C and keeps its connections alive, so on a 2-core machine it
costs the server far less CPU than a Python client would; a request body (OCSP POST) is
given to it through a small Lua script. Its ``--latency`` report gives the percentiles.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_SCALE = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True)
class Load:
    """What one ``wrk`` run measured: requests per second and latency percentiles (ms)."""

    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _lua_posts(bodies: list[bytes], content_type: str) -> str:
    """A wrk script that POSTs ``bodies`` in turn (a mix of requests on every connection)."""
    literals = ", ".join('"' + "".join(f"\\{byte}" for byte in body) + '"' for body in bodies)
    return (
        f"bodies = {{{literals}}}\n"
        "i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", nil, {{["Content-Type"] = "{content_type}"}}, bodies[i])\n'
        "end\n"
    )


def _lua_gets(path: str) -> str:
    """A wrk script that builds each GET in Lua, as the POST scripts build theirs: the
    same per-request cost in the load generator, for a ceiling fair to a scripted load."""
    return f'request = function()\n  return wrk.format("GET", "{path}")\nend\n'


def wrk(
    url: str,
    *,
    scripted_get: bool = False,
    seconds: int = 5,
    connections: int = 16,
    threads: int = 1,
    bodies: list[bytes] | None = None,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
    cpus: str | None = None,
) -> Load:
    """Load ``url`` (on 127.0.0.1) for ``seconds`` with ``connections`` kept-alive clients;
    with ``bodies``, POST them in turn; with ``cpus`` (``taskset -c`` list), only there."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("benchmarks load only 127.0.0.1")
    command = [
        *(["taskset", "-c", cpus] if cpus else []),
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as temporary:
        if bodies or scripted_get:
            script = Path(temporary) / "request.lua"
            path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
            text = _lua_posts(bodies, content_type) if bodies else _lua_gets(path)
            script.write_text(text)
            command += ["-s", str(script)]
        finished = subprocess.run(
            [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 30
        )
        if finished.returncode != 0:
            raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip()}")
        output = finished.stdout
    rate = _RATE.search(output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    percentiles = {m[1]: float(m[2]) * _SCALE[m[3]] for m in _PERCENTILE.finditer(output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Load(
        float(rate[1]),
        percentiles.get("50", 0.0),
        percentiles.get("99", 0.0),
        int(non_2xx[1]) if non_2xx else 0,
    )


def post_each(
    url: str,
    bodies: list[bytes],
    *,
    connections: int = 8,
    content_type: str = "application/jose+json",
) -> Load:
    """POST every body of ``bodies`` once, over ``connections`` kept-alive connections.

    What ``wrk`` cannot do: signed requests are single-use (each carries its own nonce,
    RFC 8555 section 6.5), so each body is sent exactly once. An asyncio client costs
    the server's machine more CPU than ``wrk``; pin it to a core of its own
    (``os.sched_setaffinity``) when the server is pinned to the others.
    """
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("benchmarks load only 127.0.0.1")
    import asyncio

    import httpx

    latencies: list[float] = []
    failures = 0

    async def worker(client: httpx.AsyncClient, queue: list[bytes]) -> None:
        nonlocal failures
        while queue:
            body = queue.pop()
            start = time.perf_counter()
            answer = await client.post(url, content=body, headers={"Content-Type": content_type})
            latencies.append((time.perf_counter() - start) * 1000)
            if answer.status_code >= 400:
                failures += 1

    async def run() -> float:
        queue = list(reversed(bodies))
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            start = time.perf_counter()
            await asyncio.gather(*(worker(client, queue) for _ in range(connections)))
            return time.perf_counter() - start

    elapsed = asyncio.run(run())
    ordered = sorted(latencies)
    return Load(
        len(bodies) / elapsed,
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        failures,
    )
