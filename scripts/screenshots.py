"""Pictures of every page of the demo, as each role sees it, at 1920×1080 and 390×844 (`make screenshots`).

Builds the demo if needed, serves it on a free port, logs in as each demo role, follows the menu and the links
on each page (one page per address shape: /console/cases/12 and /console/cases/13 are one), and writes PNGs plus
an index.html contact sheet into the output folder. Console errors and failed requests are listed in the sheet."""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1920, "height": 1080}, "phone": {"width": 390, "height": 844}}
# (login or None for the public, a label, where to start)
ROLES = [
    (None, "公众 public", ["/", "/public", "/m/report", "/public/warnings", "/public/permits", "/login"]),
    ("operator1", "受理员 operator", ["/console"]),
    ("lead1", "值班长 shift lead", ["/console"]),
    ("dispatcher1", "派遣员 dispatcher", ["/console"]),
    ("leader1", "领导 leader", ["/console"]),
    ("cgj", "专业部门 department", ["/console"]),
    ("t100", "乡镇 town", ["/console"]),
    ("inspector01", "监督员 inspector", ["/console", "/m/inspector"]),
    ("ztc01", "运输企业 company", ["/portal"]),
    ("admin", "管理员 admin", ["/console"]),
]
SKIP = re.compile(r"^/(api|static|map/tiles|docs|openapi|logout|healthz|readyz|metrics)|\.(xlsx|pdf|docx|csv|json)$|/export")
PER_ROLE = 40
PUBLIC = ("/public", "/m/report")  # the public's pages are taken once, without a login


def shape(path: str) -> str:
    """One address per page kind: a path segment with a digit in it (an id, a case number, a QR code) is a
    placeholder."""
    return "/".join("{id}" if re.search(r"\d", part) else part for part in path.split("/"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(port: int) -> subprocess.Popen:
    """`cityloop demo` on a free port (built first when var/demo.db is missing)."""
    cli = shutil.which("cityloop", path=str(Path(sys.executable).parent)) or "cityloop"
    subprocess.run([cli, "demo", "--no-serve"], check=True)
    proc = subprocess.Popen([cli, "demo", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PORT": str(port)})
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("演示服务未能启动 / the demo server did not start")


def crawl(context, base: str, login: str | None, starts: list[str], out: Path, role: str, seen: set) -> list[dict]:
    """Visit the role's pages breadth-first and photograph each page kind once per role."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(f"script: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {urlsplit(r.url).path}")
            if r.status >= 400 and urlsplit(r.url).hostname == "127.0.0.1" else None)
    if login:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", login)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
    queue, shots, shapes = list(starts), [], set()
    while queue and len(shapes) < PER_ROLE:
        path = queue.pop(0)
        if shape(path) in shapes or SKIP.search(path) or (login and path.startswith(PUBLIC)):
            continue
        shapes.add(shape(path))
        problems.clear()
        try:
            page.goto(base + path, wait_until="networkidle", timeout=20_000)
        except Exception as exc:  # noqa: BLE001 - a page that never settles is reported, not fatal
            problems.append(f"load: {exc}")
        page.wait_for_timeout(600)  # maps draw their tiles after the network settles
        name = f"{login or 'public'}{shape(path).replace('/', '_').replace('{id}', 'id') if path != '/' else '_home'}"
        files = {}
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            page.wait_for_timeout(200)
            files[label] = f"{name}-{label}.png"
            try:
                page.screenshot(path=str(out / files[label]), full_page=label == "desktop", timeout=60_000)
            except Exception as exc:  # noqa: BLE001 - one stuck page must not cost the whole set
                problems.append(f"screenshot ({label}): {str(exc).splitlines()[0]}")
        shots.append({"role": role, "path": path, "files": files, "problems": list(problems)})
        for href in page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))"):
            link = urlsplit(href).path
            if link not in seen and shape(link) not in shapes and not SKIP.search(link):
                queue.append(link)
        seen.add(path)
        page.set_viewport_size(VIEWPORTS["desktop"])
    page.close()
    return shots


def contact_sheet(shots: list[dict], out: Path) -> Path:
    """index.html: every picture, grouped by role, with the problems each page showed."""
    rows = []
    for role in dict.fromkeys(s["role"] for s in shots):
        rows.append(f"<h2>{html.escape(role)}</h2><div class=grid>")
        for s in (s for s in shots if s["role"] == role):
            issues = "".join(f"<li>{html.escape(p[:300])}</li>" for p in s["problems"])
            rows.append(f"<figure><figcaption>{html.escape(s['path'])}</figcaption>"
                        f"<a href='{s['files']['desktop']}'><img src='{s['files']['desktop']}' class=d></a>"
                        f"<a href='{s['files']['phone']}'><img src='{s['files']['phone']}' class=p></a>"
                        f"{'<ul>' + issues + '</ul>' if issues else ''}</figure>")
        rows.append("</div>")
    sheet = out / "index.html"
    sheet.write_text("<!doctype html><meta charset=utf-8><title>CityLoop 页面截图</title><style>"
                     "body{font-family:sans-serif}.grid{display:flex;flex-wrap:wrap;gap:12px}"
                     "figure{margin:0;width:420px}img.d{width:300px;max-height:400px;object-fit:cover;object-position:top}"
                     "img.p{width:100px;margin-left:8px}ul{color:#b00;font-size:12px}</style>"
                     "<h1>CityLoop 页面截图 / page screenshots</h1>" + "".join(rows), encoding="utf-8")
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", help="folder for the pictures (not committed)")
    parser.add_argument("--port", type=int, default=0, help="port for the demo server (default: a free one)")
    parser.add_argument("--logins", default="", help="only these logins, comma-separated (public: the public)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    server = start_demo(port)
    from playwright.sync_api import sync_playwright

    shots: list[dict] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            wanted = set(filter(None, args.logins.split(",")))
            for login, role, starts in ROLES:
                if wanted and (login or "public") not in wanted:
                    continue
                context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
                shots += crawl(context, f"http://127.0.0.1:{port}", login, starts, out, role, set())
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    sheet = contact_sheet(shots, out)
    flagged = sum(1 for s in shots if s["problems"])
    print(f"{len(shots)} 个页面 / pages, {2 * len(shots)} 张截图 / pictures, {flagged} 个页面有报错 / with errors: "
          f"{sheet.resolve()}")


if __name__ == "__main__":
    main()
