"""A small driver for headless Chromium over the DevTools protocol, for the site's browser tests.

Chromium is started with `--remote-debugging-port=0` in its own process group and a fresh
profile; it writes the port it chose into the profile's DevToolsActivePort file. The test
talks to one page target over a websocket (tornado's client: tornado comes with ipykernel and
jupyter_server, both in the `test` extra): navigate, evaluate JavaScript, emulate a phone
screen or the system's dark setting, take screenshots. `close()` kills the whole group.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tornado.websocket import websocket_connect

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio"]


class Browser:
    def __init__(self, exe, profile: Path, env=None, timeout=30.0):
        self.loop = asyncio.new_event_loop()
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                      "about:blank"], env=env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ws = None
        self.next_id = 0
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("chromium did not open its DevTools port")
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
            page = next(t for t in targets if t["type"] == "page")

            async def connect():
                return await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=1 << 28)

            self.ws = self.loop.run_until_complete(connect())
            self.send("Page.enable")
            self.send("Runtime.enable")
        except BaseException:
            self.close()
            raise

    # ---- protocol
    def send(self, method, timeout=30.0, **params):
        self.next_id += 1
        mine = self.next_id

        async def call():
            await self.ws.write_message(json.dumps({"id": mine, "method": method, "params": params}))
            while True:
                msg = await self.ws.read_message()
                if msg is None:
                    raise RuntimeError("the DevTools connection closed")
                data = json.loads(msg)
                if data.get("id") == mine:
                    if "error" in data:
                        raise RuntimeError(f"{method}: {data['error']}")
                    return data.get("result", {})

        return self.loop.run_until_complete(asyncio.wait_for(call(), timeout))

    def eval(self, expression, timeout=30.0):
        """The value of a JavaScript expression (awaited if it is a promise)."""
        r = self.send("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"JavaScript failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout=20.0, what=None):
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or expression}")
            time.sleep(0.1)

    # ---- conveniences
    def viewport(self, width, height, mobile=False):
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    def color_scheme(self, value):
        """Emulate the system setting: 'dark' or 'light'."""
        self.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": value}])

    def goto(self, url):
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!document.querySelector('h1')", what=f"{url} to load")
        self.eval("document.fonts.ready.then(() => true)")

    def screenshot(self, path: Path, full_page=False):
        params = {"format": "png"}
        if full_page:
            height = self.eval("Math.min(document.documentElement.scrollHeight, 12000)")
            width = self.eval("window.innerWidth")
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", timeout=60, **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            if self.ws is not None:
                async def bye():
                    self.ws.close()
                self.loop.run_until_complete(bye())
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.loop.close()
