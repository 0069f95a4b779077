"Cheap checks of the project's build plumbing (the notebooks test the library itself)."
import json, re, subprocess, sys, configparser
from pathlib import Path
import nbformat

ROOT = Path(__file__).parents[1]

def _cfg():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def test_tst_flags_split():
    assert _cfg()['tst_flags'].split() == ['notest', 'slow', 'weights', 'gpu']

def test_nbdev2_pins():
    dev = _cfg()['dev_requirements'].split()
    assert {'nbdev==2.4.14', 'fastcore<2', 'execnb<0.2'} <= set(dev)

def test_setup_has_no_pkg_resources():
    assert 'pkg_resources' not in re.sub(r'#.*', '', (ROOT/'setup.py').read_text())

def test_readme_commands():
    r = (ROOT/'README.md').read_text()
    for cmd in ('pip install torch==2.14.1 torchvision==0.29.1 && pip install -e ".[dev]"', 'clip-explain tour',
                'python -m pytest -q -p no:cacheprovider tests'):
        assert cmd in r, cmd

def _quarto(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT/'tools'/'quarto'), *args], capture_output=True, text=True, cwd=cwd)

def test_quarto_standin_version_and_inspect():
    assert _quarto('--version').stdout.strip() == '0.0.0-smalldocs-shim'
    assert json.loads(_quarto('inspect').stdout)['config']['project']['type'] == 'website'
    assert _quarto('preview').returncode != 0

def test_quarto_standin_readme(tmp_path):
    import base64, io
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(); ax.plot([0, 1]); b = io.BytesIO(); fig.savefig(b, format='png')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell('---\ntitle: x\n---'), nbformat.v4.new_markdown_cell('# Hello'),
                nbformat.v4.new_code_cell('plot()', outputs=[nbformat.v4.new_output('display_data', data={
                    'image/png': base64.b64encode(b.getvalue()).decode(), 'text/plain': 'fig'})])]
    nb.cells[2].metadata['execution'] = {'total': 0.1}
    nbformat.write(nb, tmp_path/'index.ipynb')
    r = _quarto('render', 'index.ipynb', '-o', 'README.md', '-t', 'gfm', '--no-execute', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    md = (tmp_path/'_docs'/'README.md').read_text()
    assert md.startswith('# Hello') and 'index_files/' in md
    assert list((tmp_path/'_docs'/'index_files').glob('*.png'))
