"""``lgnet serve`` as a real process on a loopback port: token, push, pull."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from gateway.auth.clients import register_client
from gateway.storage import make_engine, upgrade
from tests.gateway.api.conftest import intake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_over_http(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/serve.db"
    engine = make_engine(url)
    upgrade(engine)
    writer = register_client(engine, name="Roma", scopes=["records:write"], city="roma")
    reader = register_client(engine, name="National", scopes=["cases:read"])
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LGNET_")},
        "LGNET_DATABASE_URL": url,
        "LGNET_ISSUER": f"http://127.0.0.1:{port}",
        "LGNET_SCHEDULER": "off",
        "LGNET_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "serve"]
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "lgnet serve did not become ready"
                time.sleep(0.1)

            def token(client_id: str, secret: str | None) -> dict[str, str]:
                response = client.post(
                    "/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret or ""),
                )
                return {"Authorization": f"Bearer {response.json()['access_token']}"}

            pushed = client.post(
                "/v1/cities/roma/records",
                json=[intake("roma", 5000)],
                headers=token(writer.client_id, writer.secret),
            )
            assert pushed.status_code == 200 and pushed.json()["accepted"] == 1
            page = client.get("/v1/cases", headers=token(reader.client_id, reader.secret))
            assert [case["city"] for case in page.json()["items"]] == ["roma"]
            assert "server" not in page.headers
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
