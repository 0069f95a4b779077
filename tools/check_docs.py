#!/usr/bin/env python3
"""Check the built docs site in a real browser: every page of `_docs/`, as a user meets it, with no network.

Serves the site on 127.0.0.1, opens each page in Debian's Chromium through Playwright (never `playwright install`:
environment.md §9) and fails when a page has
  * a console error or an uncaught exception,
  * a request that failed or answered >= 400 (a broken local image, stylesheet, script or font),
  * a request for anything off the site (the docs must work offline and on any static host; such requests are
    blocked and listed),
  * an image that did not load, or
  * a maths element that KaTeX did not typeset (raw `\\[...\\]` left on the page, or a KaTeX error), or
  * a link to a file of the site that does not exist;
and when a method page (03-08) shows no figure (an <img> or <svg> in a cell's output, at least 50 px wide).
Listed as warnings: links to an anchor that the target page lacks (a cross-reference to a symbol with no heading of its
own; the link still opens the right page) and widgets shown as their text fallback (`decompose:   0%|...`, `VBox(...)`).
A full-page screenshot of each page goes to `_docs_check/` with `report.json`.

    python tools/check_docs.py [--site _docs] [--out _docs_check] [--methods 03 04 05 06 07 08]

Exit status: 0 all good, 1 problems (each printed as `PAGE: problem`), 2 the check could not run (no site, no
Chromium, no Playwright). `.ci/run` runs it after the docs build; tests/test_docs.py runs it when the site is built.
"""
import argparse, functools, json, posixpath, re, shutil, sys, tempfile, threading, time
from html import unescape
from urllib.parse import unquote
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
METHODS = ('03', '04', '05', '06', '07', '08')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']

def find_chromium()->str|None:
    "Debian's Chromium (apt-get install -y chromium), the browser Playwright drives here."
    for name in ('chromium', 'chromium-browser'):
        if shutil.which(name): return shutil.which(name)
    return '/usr/lib/chromium/chromium' if Path('/usr/lib/chromium/chromium').is_file() else None

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def serve(site:Path):
    "Serve `site` on a free local port in a thread; return (server, base URL)."
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'

# What each page reports once loaded: maths, images, figures in cell outputs (KaTeX's own SVGs are not figures).
PROBE = r"""async () => {
  await Promise.all([...document.images].map(i => { i.loading = 'eager'; return i.decode().catch(() => {}); }));
  await document.fonts.ready;
  const maths = [...document.querySelectorAll('.math')];
  const untypeset = maths.filter(m => !m.querySelector('.katex') || m.querySelector('.katex-error'))
                         .map(m => m.textContent.trim().slice(0, 80));
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                         .map(i => i.getAttribute('src').slice(0, 80));
  const figs = [...document.querySelectorAll('.cell-output img, .cell-output svg')]
      .filter(e => !e.closest('.katex') && e.getBoundingClientRect().width >= 50 && (e.tagName !== 'IMG' || e.naturalWidth > 0));
  const fallbacks = [...document.querySelectorAll('.cell-output')]
      .filter(e => /\d+%\|/.test(e.textContent) || /^\s*(VBox|HBox|Box|interactive|Tab|Accordion)\(children=/.test(e.textContent))
      .map(e => e.textContent.trim().slice(0, 60));
  return {widget_fallbacks: fallbacks, maths: maths.length, typeset: maths.length - untypeset.length, untypeset, broken_images: broken,
          figures: figs.length, figure_imgs: figs.filter(e => e.tagName === 'IMG').length,
          figure_svgs: figs.filter(e => e.tagName !== 'IMG').length, title: document.title};
}"""

def links(site:Path)->tuple:
    "Check the site's own links without a browser: ({page: [missing targets]}, {page: [links to a missing anchor]}, n links)."
    ids = {p.relative_to(site).as_posix(): set(re.findall(r'\bid="([^"]+)"', p.read_text(encoding='utf-8')))
           for p in site.rglob('*.html')}
    missing, anchors, n = {}, {}, 0
    for page in ids:
        html = (site/page).read_text(encoding='utf-8')
        for href in re.findall(r'<a\b[^>]*?\bhref="([^"]+)"', html):
            if re.match(r'^[a-zA-Z][\w+.-]*:|^//', href): continue
            n += 1
            path, _, frag = unescape(href).partition('#')
            path = path.split('?')[0]
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(path))) if path else page
            if target.endswith('/') or (site/target).is_dir(): target = posixpath.join(target, 'index.html')
            if not (site/target).is_file(): missing.setdefault(page, []).append(href)
            elif frag and target in ids and unquote(frag) not in ids[target]: anchors.setdefault(page, []).append(href)
    return missing, anchors, n

def _router(host:str, blocked:list):
    "A route handler (one argument: Playwright passes the request too to a handler that takes two) that lets the site's own requests through and blocks, and lists, all others."
    def route(rt):
        u = rt.request.url
        if urlsplit(u).netloc == host or u.startswith(('data:', 'blob:', 'about:')): rt.continue_()
        else: blocked.append(u); rt.abort()
    return route

def check(site:Path, out:Path, methods=METHODS, chromium:str|None=None, screenshots:bool=True)->dict:
    "Open every page of `site`; return the report {'pages': {name: {...,'problems': [...]}}, 'problems': n, ...}."
    from playwright.sync_api import sync_playwright
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html') if 'site_libs' not in p.parts)
    out.mkdir(parents=True, exist_ok=True)
    srv, base = serve(site)
    host = urlsplit(base).netloc
    report, t0 = {'site': str(site), 'pages': {}}, time.time()
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            ctx = p.chromium.launch_persistent_context(profile, executable_path=chromium or find_chromium(), headless=True,
                                                       args=CHROMIUM_ARGS, viewport={'width': 1200, 'height': 900})
            for name in pages:
                r = {'console_errors': [], 'failed_requests': [], 'external_requests': []}
                page = ctx.new_page()
                page.route('**/*', _router(host, r['external_requests']))
                page.on('console', lambda m, r=r: m.type == 'error' and r['console_errors'].append(m.text[:200]))
                page.on('pageerror', lambda e, r=r: r['console_errors'].append(f'uncaught: {e}'[:200]))
                page.on('requestfailed', lambda q, r=r: urlsplit(q.url).netloc == host and r['failed_requests'].append(q.url))
                page.on('response', lambda s, r=r: s.status >= 400 and r['failed_requests'].append(f'{s.status} {s.url}'))
                t = time.time()
                page.goto(base + name, wait_until='load')
                r.update(page.evaluate(PROBE))
                r['load_s'] = round(time.time() - t, 2)
                if screenshots:   # JPEG: a tall page as PNG is megabytes and seconds to encode
                    page.screenshot(path=str(out/(Path(name).with_suffix('.jpg').as_posix().replace('/', '__'))),
                                    full_page=True, type='jpeg', quality=60, animations='disabled', caret='hide')
                r['seconds'] = round(time.time() - t, 2)
                page.close()
                probs = [f'console error: {e}' for e in r['console_errors']]
                probs += [f'request failed: {u}' for u in r['failed_requests']]
                probs += [f'request off the site (blocked): {u}' for u in r['external_requests']]
                probs += [f'image did not load: {s}' for s in r['broken_images']]
                probs += [f'maths not typeset: {m}' for m in r['untypeset']]
                if Path(name).name.startswith(tuple(methods)) and r['figures'] == 0:
                    probs.append('method page without a figure (no <img>/<svg> in any cell output)')
                r['problems'] = probs
                report['pages'][name] = r
            ctx.close()
    finally:
        srv.shutdown()
    missing, anchors, n_links = links(site)
    for name, r in report['pages'].items():
        r['problems'] += [f'link to a missing file: {h}' for h in missing.get(name, [])]
        r['warnings'] = [f'link to a missing anchor: {h}' for h in anchors.get(name, [])]
        r['warnings'] += [f"a widget's text fallback is shown: {t}" for t in r['widget_fallbacks']]
    report['links'] = n_links
    ps = report['pages'].values()
    report.update(n_pages=len(pages), maths=sum(r['maths'] for r in ps), typeset=sum(r['typeset'] for r in ps),
                  figures={n: r['figures'] for n, r in report['pages'].items() if Path(n).name.startswith(tuple(methods))},
                  problems=sum(len(r['problems']) for r in ps), seconds=round(time.time() - t0, 1))
    (out/'report.json').write_text(json.dumps(report, indent=1) + '\n')
    return report

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=str(ROOT/'_docs'), help='the built site (default: _docs)')
    ap.add_argument('--out', default=str(ROOT/'_docs_check'), help='screenshots and report.json (default: _docs_check)')
    ap.add_argument('--methods', nargs='*', default=list(METHODS), help='name prefixes of the method pages that need figures')
    ap.add_argument('--no-screenshots', action='store_true')
    a = ap.parse_args(argv)
    site = Path(a.site)
    if not (site/'index.html').is_file():
        print(f'check_docs: no built site at {site} (build it with nbdev_docs)', file=sys.stderr); return 2
    chromium = find_chromium()
    if not chromium:
        print('check_docs: Chromium not found (apt-get install -y chromium)', file=sys.stderr); return 2
    try: import playwright  # noqa: F401
    except ImportError: print('check_docs: playwright is not installed (pip install -e ".[dev]")', file=sys.stderr); return 2
    rep = check(site, Path(a.out), tuple(a.methods), chromium, not a.no_screenshots)
    for name, r in rep['pages'].items():
        print(f"{name:22} maths {r['typeset']}/{r['maths']:<3} figures {r['figures']:<3} {r['load_s']:5.2f} s load, {r['seconds']:5.2f} s with screenshot"
              + ('' if not r['problems'] else f"  {len(r['problems'])} problem(s)"))
    for name, r in rep['pages'].items():
        for w in r['warnings']: print(f'{name}: warning: {w}')
    for name, r in rep['pages'].items():
        for pr in r['problems']: print(f'{name}: {pr}')
    print(f"check_docs: {rep['n_pages']} pages, {rep['links']} local links, maths typeset {rep['typeset']}/{rep['maths']}, method-page figures "
          + ', '.join(f'{Path(n).stem} {k}' for n, k in rep['figures'].items())
          + f", {rep['problems']} problem(s), {rep['seconds']} s; screenshots in {a.out}")
    return 1 if rep['problems'] else 0

if __name__ == '__main__': sys.exit(main())
