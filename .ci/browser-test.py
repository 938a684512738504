#!/usr/bin/env python3
"""Browser test of the evidence report (run by .ci/run).

Writes the demo's report with the tighten binary, opens it in headless Chromium with every host
unresolvable, and asserts: no console message at all (errors, blocked fetches, CSP violations all
land there), the page's script ran (it adds the filter box), every chart (svg) is described by an
existing table and sits in a figure with it, no tag could fetch anything; then writes a
screenshot. First it checks itself on a page that breaks each rule, so that it cannot pass
vacuously.

usage: browser-test.py TIGHTEN_BINARY OUT_DIR [--update-docs]
"""

import html.parser
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url, *extra):
    """Runs headless Chromium on url; returns (stdout, console lines)."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps",
                f"--user-data-dir={profile}",
                # No name resolves, and any connection goes to a closed port.
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                *extra, url,
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )
    if proc.returncode != 0:
        sys.exit(f"chromium failed ({proc.returncode}):\n{proc.stderr}")
    console = [l for l in proc.stderr.splitlines() if ":CONSOLE" in l]
    return proc.stdout, console


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Dom(html.parser.HTMLParser):
    """Collects what the checks need from the DOM Chromium dumped."""

    def __init__(self):
        super().__init__()
        self.ids = {}          # id -> tag
        self.svgs = []         # (attrs, figure index or None)
        self.fetching = []     # tags with src/href
        self.figures = []      # per figure.chart: [svg count, table ids]
        self.stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
        if any(k in a for k in ("src", "href", "srcset", "poster", "data")) or tag in ("link", "iframe", "object", "embed", "img"):
            self.fetching.append((tag, a))
        fig = next((i for t, i in reversed(self.stack) if t == "figure" and i is not None), None)
        if tag == "figure" and "chart" in (a.get("class") or "").split():
            self.figures.append([0, []])
            fig_index = len(self.figures) - 1
        else:
            fig_index = None
        if tag == "svg":
            self.svgs.append((a, fig))
            if fig is not None:
                self.figures[fig][0] += 1
        if tag == "table" and fig is not None:
            self.figures[fig][1].append(a.get("id"))
        if tag not in VOID:
            self.stack.append((tag, fig_index))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if all(t != tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break


def check(path):
    """Every problem found with the page at path (empty when it passes)."""
    dom_text, console = chromium(path.resolve().as_uri(), "--dump-dom")
    problems = [f"console: {l}" for l in console]
    dom = Dom()
    dom.feed(dom_text)
    if "filter" not in dom.ids:
        problems.append("the page's script did not run (no #filter)")
    if not dom.svgs:
        problems.append("no chart")
    for attrs, fig in dom.svgs:
        table = attrs.get("aria-describedby")
        if attrs.get("role") != "img" or not attrs.get("aria-labelledby"):
            problems.append(f"chart without role=img/aria-labelledby: {attrs}")
        if not table or dom.ids.get(table) != "table":
            problems.append(f"chart not described by a table: {attrs}")
        elif fig is None or table not in dom.figures[fig][1]:
            problems.append(f"chart and its table {table} are not in one figure")
    for svgs, tables in dom.figures:
        if svgs != 1 or len(tables) != 1:
            problems.append(f"figure with {svgs} chart(s) and {len(tables)} table(s)")
    for tag, attrs in dom.fetching:
        problems.append(f"<{tag}> may fetch: {attrs}")
    return problems


def self_test(tmp):
    bad = tmp / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><figure class="chart"><svg role="img"></svg></figure>'
        '<img src="http://example.invalid/x.png"><script>console.error("boom")</script>'
        "</body></html>"
    )
    problems = check(bad)
    wanted = ["console:", "did not run", "not described by a table", "<img> may fetch", "figure with 1 chart(s) and 0 table(s)"]
    missing = [w for w in wanted if not any(w in p for p in problems)]
    if missing:
        sys.exit(f"browser-test self-test: a broken page passed {missing}: {problems}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    if CHROMIUM is None:
        sys.exit("chromium not found (apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        self_test(pathlib.Path(t))
    report = out / "report.html"
    root = pathlib.Path(__file__).resolve().parent.parent
    subprocess.run([str(binary.resolve()), "demo", "--report", str(report.resolve())], cwd=root, check=True, stdout=subprocess.DEVNULL)
    problems = check(report)
    if problems:
        sys.exit("browser test failed:\n  " + "\n  ".join(problems))
    shot = out / "report.png"
    chromium(report.resolve().as_uri(), f"--screenshot={shot.resolve()}", "--window-size=1200,1500", "--hide-scrollbars")
    if not shot.is_file() or shot.stat().st_size < 10_000:
        sys.exit(f"no screenshot at {shot}")
    if "--update-docs" in sys.argv:
        shutil.copy(shot, root / "docs" / "report.png")
    print(f"browser test passed: {report} ({os.path.getsize(report) // 1024} KB), screenshot {shot}")


if __name__ == "__main__":
    main()
