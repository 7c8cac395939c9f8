"""Weight and load time of the capture page in Chromium with slow-3G network emulation.

    .venv/bin/python -m bench.page

Signs in as the demo executive, starts today's walkabout, then loads the capture
page cold (cache off) through Chromium's DevTools network emulation, twice:
Chrome DevTools' "Slow 3G" preset (2 s latency, 400 kbit/s) and WebPageTest's
"3G Slow" (400 ms, 400 kbit/s). The browser context blocks service workers: the
app's worker (issue 14) would otherwise answer the reload from its cache and the
network would carry nothing. "On the wire" is what the network carried, as the app
sends it (pages brotli or gzip, built assets their .gz); the gzip -6 column
compresses each body afresh, the figure the budget has been judged on.
"""

import gzip
import time
import urllib.request

from playwright.sync_api import sync_playwright

from .common import EXECUTIVE, PASSWORD, served

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROFILES = {
    "DevTools Slow 3G (2000 ms, 400 kbit/s)": {
        "latency": 2000,
        "downloadThroughput": 50_000,
        "uploadThroughput": 50_000,
    },
    "WebPageTest 3G Slow (400 ms, 400 kbit/s)": {
        "latency": 400,
        "downloadThroughput": 50_000,
        "uploadThroughput": 50_000,
    },
}


def load(page, url, conditions):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **conditions})
    sizes, urls = {}, {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    loaded = time.perf_counter() - started
    timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        const p = performance.getEntriesByName('first-contentful-paint')[0];
        return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, fcp: p ? p.startTime : null}; }""")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    sizes = {urls.get(k, k): v for k, v in sizes.items()}
    if not sizes or min(sizes.values()) == 0:
        raise SystemExit(f"a resource came from a cache, not the network: {sizes}")
    return sizes, loaded, timing


def main():
    with served() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            device_scale_factor=2,
            service_workers="block",  # measure the network, not the worker's cache
        )
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(EXECUTIVE)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        page.get_by_role("button", name="Start", exact=True).first.click()
        page.wait_for_url("**/capture")
        url = page.url
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
        for name, conditions in PROFILES.items():
            sizes, loaded, timing = load(page, url, conditions)
            print(
                f"\n{name}: load event {timing['load'] / 1000:.2f} s, DOMContentLoaded "
                f"{timing['dcl'] / 1000:.2f} s, first contentful paint "
                f"{(timing['fcp'] or 0) / 1000:.2f} s (wall {loaded:.2f} s)"
            )
        print(f"\n{'resource':<45}{'on the wire':>12}{'gzip -6':>10}")
        total = total_gz = htmx = htmx_gz = 0
        for resource, wire in sizes.items():
            request = urllib.request.Request(resource, headers={"Cookie": cookie})
            body = urllib.request.urlopen(request).read()
            gz = len(gzip.compress(body, 6))
            total, total_gz = total + wire, total_gz + gz
            if "htmx" in resource:
                htmx, htmx_gz = wire, gz
            print(f"{resource.replace(base, ''):<45}{wire:>12,}{gz:>10,}")
        print(f"{'total':<45}{total:>12,}{total_gz:>10,}")
        print(f"{'total without htmx':<45}{total - htmx:>12,}{total_gz - htmx_gz:>10,}")
        browser.close()


if __name__ == "__main__":
    main()
