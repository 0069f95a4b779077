#!/usr/bin/env python3
"""Refresh the KaTeX bundled into the docs site (nbs/assets/katex/) from the npm registry, so maths is typeset offline.

smalldocs (behind tools/quarto) and Quarto both load KaTeX from a CDN by default; `_quarto.yml` points
`html-math-method` at `assets/katex/` instead and the stand-in rewrites smalldocs' CDN links to it. This script is
run by a maintainer when KaTeX is upgraded (its output is committed; the docs build needs no network):

    python tools/fetch_katex.py [VERSION]      # default: the version smalldocs asks for (0.16.11)

It runs `npm pack katex@VERSION` (the registry's ordinary client) in a temporary folder and keeps only what the pages
load: katex.min.js, katex.min.css, contrib/auto-render.min.js, the .woff2 fonts (every browser that runs KaTeX reads
woff2, so the CSS's .woff/.ttf fallbacks are dropped from its @font-face rules rather than shipped) and the licence.
"""
import re, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

DEST = Path(__file__).resolve().parent.parent/'nbs'/'assets'/'katex'
KEEP = ('katex.min.js', 'katex.min.css', 'contrib/auto-render.min.js')

def default_version()->str:
    "The KaTeX version smalldocs links to (so the bundled files are the ones its pages were written against)."
    try:
        from smalldocs.layout import KATEX
        return re.search(r'katex@([\w.]+)', KATEX).group(1)
    except Exception: return '0.16.11'

def woff2_only(css:str)->str:
    "Keep only the woff2 source in each @font-face `src:` list."
    return re.sub(r'src:\s*(url\([^)]*\.woff2\)\s*format\(["\']woff2["\']\))[^;}]*', r'src:\1', css)

def main(version:str)->int:
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(['npm', 'pack', f'katex@{version}', '--silent'], cwd=tmp, capture_output=True, text=True)
        if r.returncode: print(r.stderr, file=sys.stderr); return r.returncode
        with tarfile.open(Path(tmp)/r.stdout.split()[-1]) as t: t.extractall(tmp, filter='data')
        pkg = Path(tmp)/'package'
        shutil.rmtree(DEST, ignore_errors=True)
        for f in KEEP:
            (DEST/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pkg/'dist'/f, DEST/f)
        (DEST/'katex.min.css').write_text(woff2_only((DEST/'katex.min.css').read_text(encoding='utf-8')), encoding='utf-8')
        (DEST/'fonts').mkdir()
        for f in sorted((pkg/'dist'/'fonts').glob('*.woff2')): shutil.copy2(f, DEST/'fonts'/f.name)
        shutil.copy2(pkg/'LICENSE', DEST/'LICENSE')
        (DEST/'VERSION').write_text(version + '\n')
    css = (DEST/'katex.min.css').read_text(encoding='utf-8')
    missing = [u for u in re.findall(r'url\(([^)]+)\)', css) if not (DEST/u.strip('"\'')).is_file()]
    if missing: print('fetch_katex: the CSS names files that are not bundled:', missing, file=sys.stderr); return 1
    size = sum(f.stat().st_size for f in DEST.rglob('*') if f.is_file())
    print(f'KaTeX {version} -> {DEST} ({len(list(DEST.rglob("*.*")))} files, {size/1024:.0f} KiB)')
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default_version()))
