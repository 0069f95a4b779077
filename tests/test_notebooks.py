"""Every notebook in nbs/ runs top to bottom the way a user runs it (JupyterLab's Run All): a fresh Python process per
notebook running an IPython shell (execnb's, as nbdev uses), every cell in order, nothing skipped by nbdev's test flags,
offline, within a stated time.

Cells that need real weights, a GPU or minutes of compute (flagged `#| slow`, `#| weights`, `#| gpu` for nbdev) are
opt-in at run time: they ask `clip_explain.core.opted_in` and print one line when the switch is off, so they run here
too, as a user's Run All runs them. Turn them on with the same switch a user has, e.g.
    CLIP_EXPLAIN_RUN="slow weights" python -m pytest -q tests/test_notebooks.py
Select notebooks with `-k`, e.g. `-k 00_core`. Also checked: every flagged cell is guarded (static), and the package's
shipped assets are byte-identical after every notebook ran.

(A Jupyter kernel driven by nbclient was tried first: on this 2-core machine it twice stalled with kernel and client both
idle, a lost ZMQ message; execnb's in-process shell has no sockets to lose messages on.)
"""
import os, re, sys, time, hashlib, subprocess
for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg').items(): os.environ.setdefault(k, v)

from pathlib import Path
import nbformat, pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
ASSETS = ROOT/'clip_explain'/'assets'
FLAGS = ('slow', 'weights', 'gpu', 'notest')
GUARDS = ('opted_in(', 'torch.cuda.is_available()')
NB_SECONDS = int(os.environ.get('CLIP_EXPLAIN_NB_SECONDS', 600))   # the stated time per notebook (slowest today: ~3 min)

def _assets_digest()->dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ASSETS.iterdir()) if p.is_file()}

ASSETS_BEFORE = _assets_digest()

def test_found_notebooks(): assert len(NBS) >= 10, NBS

@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_flagged_cells_are_opt_in(nb):
    "A cell nbdev's tests skip must not run by itself in a person's Run All: it asks `opted_in` (or checks for a GPU)."
    bad = [c.get('id') for c in nbformat.read(nb, as_version=4).cells if c.cell_type == 'code'
           and re.search(rf'^#\|\s*({"|".join(FLAGS[:3])})\b', c.source, re.M) and not any(g in c.source for g in GUARDS)]
    assert not bad, f"{nb.name}: flagged cells {bad} run unconditionally; guard them with `if opted_in(flag, what):`"

RUN_ONE = """
import sys
from pathlib import Path
from nbdev.test import test_nb
ok, secs = test_nb(Path(sys.argv[1]), skip_flags=[], basepath=Path(sys.argv[2]))   # skip_flags=[]: every cell runs
sys.exit(0 if ok else 1)
"""

@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_notebook(nb):
    "Run All in a fresh process, offline, within NB_SECONDS (the notebook's traceback is in the captured stderr)."
    t0 = time.time()
    try: r = subprocess.run([sys.executable, '-c', RUN_ONE, str(nb), str(ROOT)], cwd=ROOT, timeout=NB_SECONDS,
                            capture_output=True, text=True)
    except subprocess.TimeoutExpired: pytest.fail(f"{nb.name} ran past {NB_SECONDS} s")
    dt = time.time() - t0
    print(f"{nb.name}: {dt:.0f} s")
    assert r.returncode == 0, f"{nb.name} failed after {dt:.0f} s:\n{(r.stdout + r.stderr)[-6000:]}"

def test_shipped_assets_untouched():
    "Running the notebooks (this module's tests, collected before this one) leaves the shipped weights byte-identical."
    assert _assets_digest() == ASSETS_BEFORE
