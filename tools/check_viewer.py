#!/usr/bin/env python3
"""Drive the /vector viewer in headless Chromium over the DevTools protocol.

    python3 tools/check_viewer.py http://127.0.0.1:8080 --lon 68.27 --lat 43.30 --year 1723 --to 1741

Opens `/vector?year=Y&lang=kk#map=5/LAT/LON`, waits until MapLibre is idle, asks it which
territory it drew under the point, screenshots, moves the slider to `--to`, waits again,
and prints JSON: the holders drawn at the point in both years, the URL after the move,
and whether the pixels changed. Needs `chromium` and PyPI `websocket-client`.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--lon", type=float, required=True)
    ap.add_argument("--lat", type=float, required=True)
    ap.add_argument("--year", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    a = ap.parse_args()
    profile = tempfile.mkdtemp(prefix="check-viewer-")
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    proc = subprocess.Popen(
        [chrome, "--headless=new", "--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader",
         "--enable-unsafe-swiftshader", "--window-size=1000,700", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        tab = [t for t in tabs if t["type"] == "page"][0]
        ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=60)
        counter = [0]

        def call(method, **params):
            counter[0] += 1
            ws.send(json.dumps({"id": counter[0], "method": method, "params": params}))
            while True:
                r = json.loads(ws.recv())
                if r.get("id") == counter[0]:
                    return r.get("result", {})

        def js(expr):
            r = call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
            if "exceptionDetails" in r:
                raise SystemExit(f"check_viewer: {expr}: {r['exceptionDetails']}")
            return r["result"].get("value")

        def wait_idle(year):
            for _ in range(240):
                state = js("document.body ? JSON.stringify(document.body.dataset) : '{}'")
                d = json.loads(state)
                if "error" in d:
                    raise SystemExit(f"check_viewer: the map reported: {d['error']}")
                if d.get("idle") == str(year):
                    return
                time.sleep(0.25)
            raise SystemExit(f"check_viewer: the map never settled on {year}: {state}")

        def holder():
            return js(f"""(() => {{
                const p = map.project([{a.lon}, {a.lat}]);
                const f = map.queryRenderedFeatures(p, {{layers: ["territories"]}});
                return f.length ? f[0].properties.polity : null; }})()""")

        def shot():
            return base64.b64decode(call("Page.captureScreenshot", format="png")["data"])

        call("Page.enable")
        call("Runtime.enable")
        call("Page.navigate", url=f"{a.server}/vector?year={a.year}&lang=kk#map=5/{a.lat:.2f}/{a.lon:.2f}")
        wait_idle(a.year)
        before = holder()
        url_before = js("location.href")
        png_before = shot()
        if os.environ.get("SHOT"):
            open(os.environ["SHOT"], "wb").write(png_before)
        js(f"(() => {{ const s = document.getElementById('slider'); s.value = {a.to}; s.dispatchEvent(new Event('input')); }})()")
        wait_idle(a.to)
        after = holder()
        png_after = shot()
        print(json.dumps({
            "holder": {str(a.year): before, str(a.to): after},
            "url_before": url_before,
            "url_after": js("location.href"),
            "pixels_changed": png_before != png_after,
            "png_bytes": [len(png_before), len(png_after)],
        }))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
