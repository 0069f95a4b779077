#!/usr/bin/env python3
"""Execute notebooks in place, saving their outputs, but skip cells flagged with any of settings.ini's `tst_flags`
(notest, slow, weights, gpu) — they keep the outputs they had. Usage: python tools/run_nb.py nbs/02_zoo.ipynb [...]
(`jupyter nbconvert --execute` would run flagged cells too, e.g. retrain the shipped model.)"""
import configparser, os, re, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

def flags()->list:
    c = configparser.ConfigParser(delimiters=['=']); c.read(Path(__file__).parents[1]/'settings.ini')
    return c['DEFAULT'].get('tst_flags', '').split()

def run(path:str, timeout:int=1200):
    nb = nbformat.read(path, as_version=4); skip = flags(); kept = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and any(re.search(rf'^#\|\s*{f}\b', c.source, re.M) for f in skip):
            kept[i] = (c.source, c.get('outputs', [])); c.source = '# skipped: flagged cell'
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(Path(path).parent)}}).execute()
    for i, (src, outs) in kept.items(): nb.cells[i].source, nb.cells[i].outputs = src, outs
    nbformat.write(nb, path)
    print(f"{path}: executed, {len(kept)} flagged cell(s) skipped")

if __name__ == '__main__':
    os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    for p in sys.argv[1:]: run(p)
