#!/usr/bin/env python3
"""Give every notebook under nbs/ (but the README's, see below) a first code cell that, in Google Colab only, pip-installs clip_explain from its
repository (and the few extra packages the notebooks import), so "Open in Colab" → Run All works. Elsewhere — JupyterLab,
nbdev_test, tests/test_notebooks.py, the docs build — the cell's `import google.colab` fails and it does nothing; it is
`#| hide`, so neither the docs nor the README show it.

    python tools/colab_cells.py            # insert or update the cell in every notebook, then nbdev_clean the changed ones
    python tools/colab_cells.py --check    # CI: exit 1 (listing them) if a notebook lacks the current cell; writes nothing
    python tools/colab_cells.py nbs/04_textspan.ipynb …   # only these notebooks

The cell is built from settings.ini: the repository (`git_url`, else https://github.com/<user>/<repo>) at `branch`,
the package `lib_name`, and those `dev_requirements` whose module some notebook imports (e.g. fastcore, nbdev with its
pins, faiss-cpu, lemminflect). It is recognised by its marker line, placed first (after a leading raw front-matter cell),
replaced when settings or imports change and left alone otherwise: running the tool twice changes nothing.

The README notebook (`readme_nb`, index.ipynb) is left out: its code cells are the README's code blocks verbatim, with no
hidden cells (tests/test_docs.py), and it is not offered in Colab (its table links each other notebook to Colab).
"""
import argparse, ast, configparser, contextlib, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = '# Colab install (written by tools/colab_cells.py from settings.ini; edit that, not this cell)'
CELL_ID = 'colab-install'
MODULE_OF = {'faiss-cpu': 'faiss', 'faiss-gpu': 'faiss', 'scikit-learn': 'sklearn', 'scikit-image': 'skimage',
             'pillow': 'PIL', 'open_clip_torch': 'open_clip', 'grad-cam': 'pytorch_grad_cam', 'pyyaml': 'yaml'}
COMPANIONS = {'nbdev': ('fastcore', 'execnb')}   # nbdev 2.4.14 needs its pinned companions (environment.md §5.1)

def settings(root:Path=ROOT)->dict:
    c = configparser.ConfigParser(delimiters=['=']); c.read(root/'settings.ini')
    return dict(c['DEFAULT'])

def _req_name(req:str)->str: return re.split(r'[<>=!~\[ ;@]', req, maxsplit=1)[0].strip()
def _module(req:str)->str: n = _req_name(req); return MODULE_OF.get(n.lower(), n.replace('-', '_'))

def notebooks(root:Path=ROOT, readme:bool=False)->list:
    "The notebooks nbdev works on (*.ipynb under nbs_path, no folder or file starting with `_` or `.`), without `readme_nb` unless `readme`."
    cfg = settings(root); base = root/cfg.get('nbs_path', 'nbs')
    return sorted(p for p in base.rglob('*.ipynb') if not any(part.startswith(('_', '.')) for part in p.relative_to(base).parts)
                  and (readme or p.relative_to(base).as_posix() != cfg.get('readme_nb', 'index.ipynb')))

def imported_modules(paths)->set:
    "Top-level modules imported anywhere in the code cells of `paths` (magics and unparsable cells skipped)."
    out = set()
    for p in paths:
        for c in json.loads(Path(p).read_text(encoding='utf-8'))['cells']:
            src = ''.join(c['source']) if c['cell_type'] == 'code' else ''
            if MARKER in src: continue
            src = '\n'.join('pass' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines())
            try: tree = ast.parse(src)
            except SyntaxError: continue
            for n in ast.walk(tree):
                if isinstance(n, ast.Import): out |= {a.name.split('.')[0] for a in n.names}
                elif isinstance(n, ast.ImportFrom) and n.module and not n.level: out.add(n.module.split('.')[0])
    return out

def install_spec(cfg:dict, modules:set)->list:
    "pip arguments: the package from the repository, then the dev requirements the notebooks import (with companions)."
    url = cfg.get('git_url') or f"https://github.com/{cfg['user']}/{cfg['repo']}"
    url = url.rstrip('/') + ('' if url.rstrip('/').endswith('.git') else '.git')
    dev = cfg.get('dev_requirements', '').split()
    keep = {_req_name(r) for r in dev if _module(r) in modules}
    keep |= {c for k in list(keep) for c in COMPANIONS.get(k, ())}
    return [f"{cfg['lib_name']} @ git+{url}@{cfg.get('branch', 'main')}"] + [r for r in dev if _req_name(r) in keep]

def cell_source(args:list)->str:
    quoted = ' '.join(f'"{a}"' if re.search(r'[\s<>=!;@\[]', a) else a for a in args)
    return '\n'.join([
        '#| hide', MARKER,
        '# In Google Colab: install the package from its repository first. Anywhere else (JupyterLab, tests, docs) it does nothing.',
        'try: import google.colab',
        'except ImportError: pass',
        'else:',
        f'    %pip install -q {quoted}'])

def current_cell(root:Path=ROOT)->dict:
    "The cell every notebook should have, for this checkout's settings.ini and notebooks."
    src = cell_source(install_spec(settings(root), imported_modules(notebooks(root, readme=True))))
    return dict(cell_type='code', execution_count=None, id=CELL_ID, metadata={}, outputs=[], source=src)

def _position(cells:list)->int: return 1 if cells and cells[0]['cell_type'] == 'raw' else 0

def has_current(nb:dict, cell:dict)->bool:
    "Exactly one Colab cell, the current one, at its place."
    ours = [i for i, c in enumerate(nb['cells']) if MARKER in ''.join(c['source'])]
    i = _position([c for c in nb['cells'] if MARKER not in ''.join(c['source'])])
    return ours == [i] and ''.join(nb['cells'][i]['source']) == cell['source'] and nb['cells'][i]['cell_type'] == 'code'

def updated(nb:dict, cell:dict)->dict:
    "`nb` with every old Colab cell removed and `cell` inserted first (after a raw front-matter cell)."
    cells = [c for c in nb['cells'] if MARKER not in ''.join(c['source'])]
    cells.insert(_position(cells), dict(cell))
    return {**nb, 'cells': cells}

def apply(paths, cell:dict, root:Path=ROOT)->list:
    "Write the cell into the notebooks that lack it (then nbdev_clean them); returns the changed paths."
    changed = []
    for p in paths:
        nb = json.loads(Path(p).read_text(encoding='utf-8'))
        if has_current(nb, cell): continue
        Path(p).write_text(json.dumps(updated(nb, cell), indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        changed.append(Path(p))
    if changed:
        from nbdev.clean import nbdev_clean
        with contextlib.chdir(root):
            for p in changed: nbdev_clean(fname=str(p))
    return changed

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to treat (default: every notebook under nbs/)')
    ap.add_argument('--check', action='store_true', help='only check; exit 1 if a notebook lacks the current cell')
    a = ap.parse_args(argv)
    paths = [Path(p).resolve() for p in a.notebooks] or notebooks()
    cell = current_cell()
    if a.check:
        bad = [p for p in paths if not has_current(json.loads(p.read_text(encoding='utf-8')), cell)]
        for p in bad: print(f"{p.relative_to(ROOT)}: no current Colab cell (run python tools/colab_cells.py)", file=sys.stderr)
        print(f"{len(paths) - len(bad)} of {len(paths)} notebooks have the current Colab cell")
        return 1 if bad else 0
    changed = apply(paths, cell)
    print(f"Colab cell written into {len(changed)} of {len(paths)} notebooks" + (': ' + ', '.join(p.name for p in changed) if changed else ''))
    return 0

if __name__ == '__main__': sys.exit(main())
