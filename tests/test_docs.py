"""The docs as users meet them: README links and code, the index's links, and the built site in a browser.

The browser tests need Debian's Chromium and Playwright (tools/check_docs.py); the site test also needs the built site
`_docs/` (nbdev_docs; CI builds it after pytest and runs tools/check_docs.py itself). They are skipped, with the
reason, when those are missing.
"""
import configparser, importlib.machinery, importlib.util, json, re, shutil, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import check_docs, index_links  # noqa: E402

def _stand_in():
    "tools/quarto (a script without .py) as a module."
    loader = importlib.machinery.SourceFileLoader('quarto_stand_in', str(ROOT/'tools'/'quarto'))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec); loader.exec_module(mod)
    return mod

def _cfg():
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini'); return dict(cp['DEFAULT'])

def _prose(md:str)->str:
    "Markdown without its fenced code blocks."
    return re.sub(r'^```.*?^```[ \t]*$', '', md, flags=re.S|re.M)

def _targets(md:str)->list:
    "Every link and image target outside code: [t](x), ![a](x), <img src=x>, <a href=x>."
    t = _prose(md)
    return re.findall(r'\]\(([^)\s]+)', t) + re.findall(r'<(?:img|a)\b[^>]*?\b(?:src|href)="([^"]+)"', t)

def _broken_on_github(target:str)->bool:
    "A README link that GitHub (and PyPI) cannot follow: relative, and not a file of the repository."
    if re.match(r'^(https?:|mailto:|#)', target): return False
    return not (ROOT/target.split('#')[0]).is_file()

def test_readme_links_work_on_github():
    md = (ROOT/'README.md').read_text(encoding='utf-8')
    targets = _targets(md)
    assert len(targets) >= 14, targets                     # the notebook table alone has 14 rows
    assert [t for t in targets if _broken_on_github(t)] == []
    # control: the notebook's own (relative) links are broken on GitHub, and the stand-in's rewrite fixes them
    raw = '| [00_core](00_core.ipynb) | x | [![Open in Colab](assets/colab-badge.svg)](https://colab.example/x) |'
    assert sum(map(_broken_on_github, _targets(raw))) == 2
    fixed = _stand_in().absolute_links(raw, _cfg())
    assert not any(map(_broken_on_github, _targets(fixed)))
    assert f"{_cfg()['git_url']}/blob/{_cfg()['branch']}/nbs/00_core.ipynb" in fixed

def test_readme_has_no_stale_text():
    md = (ROOT/'README.md').read_text(encoding='utf-8')
    for stale in ('(available)', 'added as each method lands', 'colab.research.google.com/assets/colab-badge.svg'):
        assert stale not in md, stale

def test_readme_code_is_the_index_code():
    "The README's Python is exactly the index notebook's code cells, none hidden: the notebook test (which runs every"
    "cell of index.ipynb in a fresh process) then proves that the quick start runs when pasted, imports included."
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text(encoding='utf-8'))
    cells = [''.join(c['source']).strip() for c in nb['cells'] if c['cell_type'] == 'code']
    assert cells and not [c for c in cells if c.startswith('#|')], 'index.ipynb has directive (hidden) code cells'
    md = (ROOT/'README.md').read_text(encoding='utf-8')
    blocks = [b.strip() for b in re.findall(r'^```python\n(.*?)^```', md, flags=re.S|re.M)]
    assert blocks == cells
    names_used = set(re.findall(r'\b([a-z_]+)\(', '\n'.join(cells)))
    imported = {n.strip() for l in re.findall(r'^from \S+ import (.+)$', '\n'.join(cells), re.M) for n in l.split(',')}
    for fn in ('load_clip', 'decompose', 'textspan', 'neuron_effects', 'shapes_text_bank', 'shapes_word_pool'):
        assert fn not in names_used or fn in imported, fn

def test_index_links_follow_settings(tmp_path):
    nb, changes, names, _ = index_links.rewrite()
    assert changes == [], 'run python tools/index_links.py'
    listed = set(names)
    nbs = {p.stem for p in (ROOT/'nbs').glob('*.ipynb') if p.name != 'index.ipynb' and not p.name.startswith(('_', '.'))}
    assert nbs - listed == set(), f'notebooks missing from the index table: {sorted(nbs - listed)}'
    # control: another branch in settings.ini makes every row differ
    (tmp_path/'nbs').mkdir()
    shutil.copy(ROOT/'nbs'/'index.ipynb', tmp_path/'nbs'/'index.ipynb')
    ini = (ROOT/'settings.ini').read_text().replace(f"branch = {_cfg()['branch']}", 'branch = some-other-branch')
    (tmp_path/'settings.ini').write_text(ini)
    _, changes, names, _ = index_links.rewrite(tmp_path)
    assert len(changes) == len(names) >= 14 and all('/blob/some-other-branch/nbs/' in new for _, new in changes)

def test_quarto_config_at_top_level():
    top, link = ROOT/'_quarto.yml', ROOT/'nbs'/'_quarto.yml'
    assert top.is_file() and not top.is_symlink()
    assert link.resolve() == top.resolve(), 'nbs/_quarto.yml must lead to the top-level _quarto.yml'
    assert _stand_in().math_url(ROOT/'nbs') == 'assets/katex/'
    assert (ROOT/'nbs'/'assets'/'katex'/'katex.min.js').is_file()

def _browser_ready():
    if not check_docs.find_chromium(): return 'Chromium is not installed (apt-get install -y chromium)'
    try: import playwright  # noqa: F401
    except ImportError: return 'playwright is not installed (pip install -e ".[dev]")'
    return None

@pytest.mark.skipif(_browser_ready() is not None, reason=str(_browser_ready()))
def test_check_docs_catches_problems(tmp_path):
    "The browser check on a small made-up site: one good page, and one page with each problem it must report."
    site = tmp_path/'site'
    shutil.copytree(ROOT/'nbs'/'assets'/'katex', site/'katex')
    katex = '<link rel="stylesheet" href="katex/katex.min.css"><script defer src="katex/katex.min.js"></script>' \
            '<script defer src="katex/contrib/auto-render.min.js" onload="renderMathInElement(document.body)"></script>'
    png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
    good = f'<!doctype html><html><head>{katex}</head><body><span class="math display">\\[\\phi^l_n(I) = \\sum_h x\\]</span>' \
           f'<div class="cell-output"><img src="data:image/png;base64,{png}" style="width:200px"></div>' \
           '<a href="index.html#nope">a missing anchor: a warning</a> <a href="04_bad.html">fine</a></body></html>'
    bad = '<!doctype html><html><head><link rel="stylesheet" href="https://cdn.example.org/x.css"></head><body>' \
          '<span class="math display">\\[x^2\\]</span><img src="missing.png"><a href="nowhere.html">x</a><div class="cell-output"><pre>run:   0%|    | 0/2</pre></div><script>console.error("boom")</script></body></html>'
    (site/'index.html').write_text('<html><body>home</body></html>')
    (site/'03_good.html').write_text(good)
    (site/'04_bad.html').write_text(bad)
    rep = check_docs.check(site, tmp_path/'out', screenshots=False)
    g, b = rep['pages']['03_good.html'], rep['pages']['04_bad.html']
    assert g['problems'] == [] and g['typeset'] == g['maths'] == 1 and g['figures'] == 1
    assert g['warnings'] == ['link to a missing anchor: index.html#nope']
    probs = '\n'.join(b['problems'])
    for what in ('console error: boom', 'off the site (blocked): https://cdn.example.org/x.css', 'missing.png',
                 'maths not typeset', 'method page without a figure', 'link to a missing file: nowhere.html'):
        assert what in probs, (what, probs)
    assert b['warnings'] == ["a widget's text fallback is shown: run:   0%|    | 0/2"]

def test_stand_in_hides_widget_fallbacks(tmp_path):
    "Progress bars are dropped and explorers replaced by a note in the processed notebooks; other outputs stay."
    q = _stand_in()
    widget = lambda text: {'output_type': 'display_data', 'metadata': {},
                           'data': {q.WIDGET: {'model_id': 'x', 'version_major': 2, 'version_minor': 0}, 'text/plain': [text]}}
    fig = {'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': 'iVBO', 'text/plain': ['<Figure>']}}
    nb = {'cells': [{'cell_type': 'code', 'source': 'x', 'metadata': {}, 'execution_count': None,
                     'outputs': [widget('decompose:   0%|          | 0/300 [00:00<?, ?it/s]'), fig,
                                 widget('VBox(children=(Dropdown(options=(1, 2)),))')]}],
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (tmp_path/'a.ipynb').write_text(json.dumps(nb))
    assert q.static_widgets(tmp_path) == 2
    outs = json.loads((tmp_path/'a.ipynb').read_text())['cells'][0]['outputs']
    assert [list(o['data']) for o in outs] == [['image/png', 'text/plain'], ['text/markdown']]
    assert q.WIDGET_NOTE in outs[1]['data']['text/markdown']
    assert q.static_widgets(tmp_path) == 0                  # idempotent

SITE = ROOT/'_docs'

def _site_stale()->str|None:
    "Why the built site cannot stand for the sources (older than a notebook or the docs configuration), else None."
    built = max(SITE.stat().st_mtime, (SITE/'index.html').stat().st_mtime)   # smalldocs keeps sources' mtimes on pages
    newer = [p.name for p in [*(ROOT/'nbs').glob('*.ipynb'), ROOT/'_quarto.yml', ROOT/'nbs'/'styles.css', ROOT/'tools'/'quarto']
             if p.exists() and p.stat().st_mtime > built]
    return f"_docs/ is older than {', '.join(sorted(newer)[:3])}{' …' if len(newer) > 3 else ''}: rebuild it (nbdev_docs)" if newer else None

@pytest.mark.skipif(not (SITE/'index.html').is_file(), reason='_docs/ is not built (nbdev_docs; CI checks the site after building it)')
@pytest.mark.skipif(_browser_ready() is not None, reason=str(_browser_ready()))
def test_built_site(tmp_path):
    if _site_stale(): pytest.skip(_site_stale())
    rep = check_docs.check(SITE, tmp_path, screenshots=False)
    problems = [f'{n}: {p}' for n, r in rep['pages'].items() for p in r['problems']]
    assert problems == [], '\n'.join(problems)
    assert rep['n_pages'] >= 14 and rep['typeset'] == rep['maths'] > 0
