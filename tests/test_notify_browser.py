"""Module notify in a real browser: headless Chromium (Debian's package, driven over the
DevTools protocol, no browser download) opens the page `brandbase realtime` serves, whose
EventSource subscribes with the user's JWT; a notification sent from SQL appears on the
page, and its unread count with it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from tests.test_notify import SECRET, seed, send, server_for

from brandbase import realtime

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Page:
    """One page target over the DevTools protocol."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params):
        n = next(self.ids)
        await self.ws.send_json({"id": n, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def js(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_js(self, expression: str, expected, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while (value := await self.js(expression)) != expected:
            if time.monotonic() > deadline:
                pytest.fail(f"{expression} is {value!r}, expected {expected!r}")
            await asyncio.sleep(0.05)
        return value


@contextlib.asynccontextmanager
async def chromium(tmp: Path):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is missing: run `make bootstrap` (scripts/bootstrap.sh installs Debian's chromium)"
        )
    profile = tmp / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split("\n")[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
                targets = await r.json()
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield Page(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_notification_sent_from_sql_shows_on_a_page_with_eventsource(owner_dsn, tmp_path):
    ids = seed(owner_dsn)
    user = ids["viewer@acme"]
    token = realtime.token_for(user, SECRET)

    async def main():
        server = await server_for(owner_dsn)
        try:
            async with chromium(tmp_path) as page:
                await page.call("Page.enable")
                await page.call(
                    "Page.navigate", url=f"http://127.0.0.1:{server.port}/?brand={ids['acme']}&token={token}"
                )
                await page.wait_js(
                    "document.getElementById('status') && document.getElementById('status').textContent",
                    "live",
                )
                await page.wait_js("document.getElementById('unread').textContent", "0")
                await asyncio.to_thread(send, owner_dsn, ids["acme"], user, "Shown in Chromium")
                await page.wait_js(
                    "(document.querySelector('.notification') || {}).textContent || null", "Shown in Chromium"
                )
                await page.wait_js("document.getElementById('unread').textContent", "1")
                shot = await page.call("Page.captureScreenshot", format="png")
                (tmp_path / "page.png").write_bytes(base64.b64decode(shot["data"]))
                assert json.loads(
                    await page.js(
                        "JSON.stringify([...document.querySelectorAll('.notification')]"
                        ".map(e => e.textContent))"
                    )
                ) == ["Shown in Chromium"]
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 120))
