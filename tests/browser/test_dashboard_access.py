"""`ghcapture dashboard` bound beyond loopback: 401 without the token, 200 with it (a bearer header, or the
sign-in form's cookie in a real browser); /healthz stays open and /metrics does not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser.conftest import free_port
from ghcapture.monitor.dashboard import SESSION_COOKIE
from ghcapture.store.database import open_database
from monitor_support import add_job

TOKEN = "s3cret-dashboard-token-0123456789"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("access") / "guarded.db"
    add_job(
        open_database(f"sqlite:///{database}"), repository="acme/widgets", lane="realtime", processor="local"
    )
    port = free_port()
    env = {
        **os.environ,
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{database}",
        "GHCAPTURE_DASHBOARD_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "dashboard", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the port is bound
        assert "token required" in line, line + (server.stderr.read() if server.poll() is not None else "")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_requests_without_the_token_are_refused_and_with_it_answered(base_url: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    wrong = {"Authorization": f"Bearer {TOKEN[:-1]}x"}

    assert httpx.get(base_url + "/").status_code == 401
    assert httpx.get(base_url + "/jobs.json", headers=wrong).status_code == 401
    assert httpx.get(base_url + "/metrics").status_code == 401
    assert httpx.get(base_url + "/", headers=bearer).status_code == 200
    assert httpx.get(base_url + "/jobs.json", headers=bearer).json()["matching"] == 1
    assert httpx.get(base_url + "/metrics", headers=bearer).status_code == 200
    assert httpx.get(base_url + "/healthz").status_code in (200, 503)  # open: answers, whatever it finds
    refused = httpx.get(base_url + "/", headers={"Accept": "text/html"})
    assert TOKEN not in refused.text and refused.headers["www-authenticate"].startswith("Bearer")


def test_a_browser_signs_in_with_the_form_and_gets_a_locked_down_cookie(
    browser: Any, base_url: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    first = page.goto(base_url + "/jobs")
    assert first is not None and first.status == 401
    page.fill("#token", "not the token at all")
    page.click("button[type=submit]")
    assert "not the token" in str(page.text_content(".error"))
    page.screenshot(path=str(screenshots / "sign-in.png"))
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/jobs")

    assert page.locator("#job-list tr[data-job]").count() == 1
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    assert page.goto(base_url + "/workers").status == 200  # type: ignore[union-attr]
    context.close()
