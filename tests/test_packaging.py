"Cheap checks of the build plumbing: settings.ini, setup.py and the `quarto` stand-in (the notebooks test the library)."
import base64, configparser, importlib.machinery, importlib.util, io, json, re, subprocess, sys
from contextlib import chdir
from pathlib import Path
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
QUARTO = ROOT/'tools'/'quarto'

def _cfg():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini', encoding='utf-8'); return c['DEFAULT']

def test_tst_flags_split_into_four():
    assert _cfg()['tst_flags'].split() == ['notest', 'slow', 'weights', 'gpu']

def test_nbdev2_pins():                           # nbdev 3 refuses settings.ini; 2.4.14 needs these two pins (environment.md §5.1)
    assert {'nbdev==2.4.14', 'fastcore<2', 'execnb<0.2'} <= set(_cfg()['dev_requirements'].split())

def test_setup_has_no_pkg_resources():            # gone from modern setuptools (§5.2)
    code = '\n'.join(l.split('#')[0] for l in (ROOT/'setup.py').read_text().splitlines())
    assert 'pkg_resources' not in code and 'parse_version' not in code

def _quarto(*args, cwd=None):
    "Run the stand-in as a command."
    return subprocess.run([sys.executable, str(QUARTO), *args], capture_output=True, text=True, cwd=cwd, timeout=120)

def _quarto_main(*args, cwd):
    "Run the stand-in's `main` in-process (saves a 3-5 s nbconvert import per call)."
    loader = importlib.machinery.SourceFileLoader('quarto_standin', str(QUARTO))
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader)); loader.exec_module(mod)
    with chdir(cwd): return mod.main(list(args))

def test_quarto_standin_cli():
    for a in ([], ['--version'], ['-v']): assert _quarto(*a).stdout.strip() == '0.0.0-smalldocs-shim'
    r = _quarto('inspect', '.')
    assert r.returncode == 0 and json.loads(r.stdout)['config']['project'] == {'type': 'website', 'render': []}
    r = _quarto('preview')
    assert r.returncode == 2 and 'unsupported' in r.stderr

def _png():
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 2)); ax.plot([0, 1]); b = io.BytesIO(); fig.savefig(b, format='png'); plt.close(fig)
    return base64.b64encode(b.getvalue()).decode()

@pytest.mark.parametrize('outname', ['README.md', 'CONTRIBUTING.md'])
def test_quarto_standin_markdown(tmp_path, outname):
    "A notebook shaped like nbdev's processed one (front matter raw cell, float `execution` metadata, a PNG output)."
    (tmp_path/'nbdev.yml').write_text('project:\n  output-dir: _site\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: mylib\ndescription: "Does things"\noutput-file: index.html\n---\n'),
                nbformat.v4.new_markdown_cell('## Install\n\n```sh\npip install mylib\n```'),
                nbformat.v4.new_code_cell('plot()', outputs=[nbformat.v4.new_output(
                    'display_data', data={'image/png': _png(), 'text/plain': '<Figure>'})])]
    nb.cells[2].metadata['execution'] = {'iopub.execute_input': '2026-01-01', 'total': 0.1}
    nbformat.write(nb, tmp_path/'index.ipynb')
    assert _quarto_main('render', 'index.ipynb', '-o', outname, '-t', 'gfm', '--no-execute', '-M', 'wrap:preserve', cwd=tmp_path) == 0
    md = (tmp_path/'_site'/outname).read_text()
    assert md.startswith('# mylib\n\n> Does things\n') and '---' not in md and 'output-file' not in md
    assert 'pip install mylib' in md
    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', md)
    assert links and all(l.startswith('index_files/') for l in links), links
    for l in links: assert (tmp_path/'_site'/l).read_bytes()[:4] == b'\x89PNG'
