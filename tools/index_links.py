#!/usr/bin/env python3
"""Write the links of the notebook table in nbs/index.ipynb from settings.ini, so they follow the repository.

Each row of the table `| notebook | what | Colab |` becomes

    | [NAME](NAME.ipynb) | what | [![Open in Colab](assets/colab-badge.svg)](https://colab.research.google.com/github/USER/REPO/blob/BRANCH/NBS/NAME.ipynb) |

with USER, REPO, BRANCH and NBS (nbs_path) from settings.ini. The notebook link stays relative: the docs site turns it
into the page and JupyterLab opens the notebook; the README renderer (tools/quarto) makes it absolute for GitHub.
The badge is a local SVG (nbs/assets/), so the docs load nothing remote.

    python tools/index_links.py           # rewrite the table in place (then nbdev_readme)
    python tools/index_links.py --check   # exit 1 and name the rows that differ (tests/test_docs.py runs this)
"""
import configparser, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r'^\| \[(?P<name>[^\]]+)\]\([^)]*\) \| (?P<what>.*?) \|(?P<colab>.*)\|$')   # a row of the notebook table

def settings(root:Path=ROOT)->dict:
    cp = configparser.ConfigParser(); cp.read(root/'settings.ini')
    return dict(cp['DEFAULT'])

def colab_url(cfg:dict, nb:str)->str:
    "The Colab address of notebook `nb` (a file name in nbs_path) on the repository's branch."
    return f"https://colab.research.google.com/github/{cfg['user']}/{cfg['repo']}/blob/{cfg['branch']}/{cfg['nbs_path']}/{nb}"

def row(cfg:dict, name:str, what:str)->str:
    return f"| [{name}]({name}.ipynb) | {what} | [![Open in Colab](assets/colab-badge.svg)]({colab_url(cfg, name + '.ipynb')}) |"

def rewrite(root:Path=ROOT)->tuple:
    "Return (notebook JSON, [(old row, new row)] for the rows that change, [notebook names in the table])."
    cfg = settings(root)
    path = root/cfg['nbs_path']/cfg.get('readme_nb', 'index.ipynb')
    nb = json.loads(path.read_text(encoding='utf-8'))
    changes, names = [], []
    for cell in nb['cells']:
        if cell['cell_type'] != 'markdown': continue
        lines = ''.join(cell['source']).split('\n')
        if not any(l.startswith('| notebook | what |') for l in lines): continue
        for i, l in enumerate(lines):
            m = ROW.match(l)
            if not m: continue
            names.append(m['name'])
            new = row(cfg, m['name'], m['what'])
            if new != l: changes.append((l, new)); lines[i] = new
        text = '\n'.join(lines)
        cell['source'] = [s for s in re.split(r'(?<=\n)', text) if s]
    return nb, changes, names, path

def main(args)->int:
    nb, changes, names, path = rewrite()
    if not names: print(f'index_links: no notebook table (| notebook | what | Colab |) in {path}', file=sys.stderr); return 1
    if '--check' in args:
        for old, new in changes: print(f'differs:\n  {old}\n  {new}')
        if changes: print(f'index_links: {len(changes)} row(s) of {path.name} do not follow settings.ini: '
                          'run python tools/index_links.py', file=sys.stderr)
        return 1 if changes else 0
    if changes:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    print(f'index_links: {len(names)} rows, {len(changes)} rewritten')
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
