"""The Colab install cell (tools/colab_cells.py): every notebook has the current one; the tool is idempotent and leaves
notebooks nbdev-clean; the cell does nothing outside Colab and, in Colab, pip-installs from the repository named in
settings.ini; the docs build neither shows nor runs it."""
import configparser, importlib.util, json, shutil, sys, types, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('colab_cells', ROOT/'tools'/'colab_cells.py')
cc = importlib.util.module_from_spec(spec); spec.loader.exec_module(cc)
CELL = cc.current_cell()

def _cfg()->dict:
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def test_every_notebook_has_the_current_cell():
    "If this fails: run `python tools/colab_cells.py` (settings.ini or the notebooks' imports changed, or a notebook is new)."
    nbs = cc.notebooks()
    assert len(nbs) >= 10 and 'index.ipynb' not in [p.name for p in nbs], nbs
    bad = [p.name for p in nbs if not cc.has_current(json.loads(p.read_text(encoding='utf-8')), CELL)]
    assert not bad, f"notebooks without the current Colab cell: {bad} (run python tools/colab_cells.py)"
    assert cc.main(['--check']) == 0

@pytest.fixture
def copy(tmp_path):
    "A checkout of settings.ini and three notebooks (one with a stale Colab cell) in a temporary folder."
    shutil.copy(ROOT/'settings.ini', tmp_path/'settings.ini'); (tmp_path/'nbs').mkdir()
    for n in ('00_core.ipynb', '00b_metrics.ipynb', 'index.ipynb'): shutil.copy(ROOT/'nbs'/n, tmp_path/'nbs'/n)
    p = tmp_path/'nbs'/'00b_metrics.ipynb'; nb = json.loads(p.read_text(encoding='utf-8'))
    stale = cc.updated(nb, dict(CELL, source=CELL['source'].replace('@main', '@old-branch')))
    stale['cells'].append(dict(stale['cells'][0]))                       # and a second, misplaced copy
    p.write_text(json.dumps(stale, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return tmp_path

def _bytes(root): return {p.name: p.read_bytes() for p in sorted((root/'nbs').glob('*.ipynb'))}

def test_tool_idempotent_and_clean(copy):
    paths, cell = cc.notebooks(copy), cc.current_cell(copy)
    assert [p.name for p in paths] == ['00_core.ipynb', '00b_metrics.ipynb']       # not the README's index.ipynb
    index = (copy/'nbs'/'index.ipynb').read_bytes()
    assert not any(cc.has_current(json.loads(p.read_text()), cell) for p in paths)   # none current before (stale one too)
    before = {p.name: json.loads(p.read_text()) for p in paths}
    assert len(cc.apply(paths, cell, copy)) == 2
    once = _bytes(copy)
    for p in paths:
        nb = json.loads(p.read_text())
        assert cc.has_current(nb, cell)
        ours = [c for c in nb['cells'] if cc.MARKER in ''.join(c['source'])]
        assert len(ours) == 1 and nb['cells'][0] is not None and cc.MARKER in ''.join(nb['cells'][0]['source'])
        old = [c for c in before[p.name]['cells'] if cc.MARKER not in ''.join(c['source'])]
        assert [''.join(c['source']) for c in nb['cells'][1:]] == [''.join(c['source']) for c in old]   # the rest untouched
    assert cc.apply(paths, cell, copy) == [] and _bytes(copy) == once      # twice: nothing changes
    from nbdev.clean import nbdev_clean
    import contextlib
    with contextlib.chdir(copy): nbdev_clean(fname=str(copy/'nbs'))
    assert _bytes(copy) == once                                            # already nbdev-clean
    assert (copy/'nbs'/'index.ipynb').read_bytes() == index

def _run(src:str, colab:bool)->tuple:
    "Run a cell's source in an IPython shell like nbdev's tests (execnb); return (pip magic calls, error or None)."
    from execnb.shell import CaptureShell
    sh, calls = CaptureShell(), []
    sh.register_magic_function(lambda line: calls.append(line), 'line', 'pip')   # record instead of installing
    saved = {k: sys.modules.get(k) for k in ('google', 'google.colab')}
    try:
        if colab: sys.modules['google'] = types.ModuleType('google'); sys.modules['google.colab'] = types.ModuleType('google.colab')
        else: sys.modules['google.colab'] = None                              # make `import google.colab` fail, as off Colab
        sh.run_cell(src)
        return calls, sh.exc
    finally:
        for k, v in saved.items():
            if v is None: sys.modules.pop(k, None)
            else: sys.modules[k] = v

def test_cell_installs_only_in_colab():
    cfg = _cfg()
    calls, err = _run(CELL['source'], colab=False)
    assert err is None and calls == []
    calls, err = _run(CELL['source'], colab=True)
    assert err is None and len(calls) == 1
    url = f"git+{cfg['git_url']}.git@{cfg['branch']}"                        # the repository settings.ini names
    assert f'"{cfg["lib_name"]} @ {url}"' in calls[0] and calls[0].split()[:2] == ['install', '-q'], calls

def test_hidden_from_docs_and_not_run_there():
    "`#| hide` (nbdev drops it from pages and the README); nbdev's docs build neither runs it nor warns about it."
    from execnb.nbio import dict2nb
    from nbdev.processors import _do_eval
    assert CELL['source'].splitlines()[0] == '#| hide'
    nb = dict2nb(dict(cells=[CELL], metadata={}, nbformat=4, nbformat_minor=5))
    c = nb.cells[0]
    c.directives_ = {'hide': []}
    with warnings.catch_warnings(): warnings.simplefilter('error'); assert not _do_eval(c)
