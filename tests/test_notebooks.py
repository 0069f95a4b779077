"""Every notebook in nbs/ is one pytest test, run in-process by nbdev 2's own `test_nb` (torch is imported once for all).

Cells flagged with a `tst_flags` directive from settings.ini (notest slow weights gpu) are skipped, exactly as
`nbdev_test` does; force some with the environment variable CLIP_EXPLAIN_TEST_FLAGS, e.g.
    CLIP_EXPLAIN_TEST_FLAGS="slow weights" python -m pytest -q tests/test_notebooks.py
Select notebooks with `-k`, e.g. `-k 00_core`.
"""
import os
for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg').items(): os.environ.setdefault(k, v)

from contextlib import chdir
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb as _run_nb, _keep_file   # renamed, or pytest would collect nbdev's `test_nb` itself
# nbdev 2.4.14: test_nb(fn, skip_flags=None, force_flags=None, do_print=False, showerr=True, basepath=None) -> (ok, secs)

ROOT = Path(__file__).resolve().parents[1]
with chdir(ROOT): cfg = get_config()        # nbdev 2 finds settings.ini from the cwd only (and caches it)
SKIP = cfg.tst_flags.split()                             # a list: a plain string would be one flag
FORCE = os.environ.get('CLIP_EXPLAIN_TEST_FLAGS', '').split()
NBS = sorted(p for p in nbglob(cfg.nbs_path, as_path=True) if _keep_file(p, '.notest'))  # skips _*, .*, .notest folders

def test_found_notebooks(): assert NBS, f"no notebooks found in {cfg.nbs_path}"

@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_notebook(nb):
    ok, secs = _run_nb(nb, skip_flags=SKIP, force_flags=FORCE, basepath=cfg.config_path)
    assert ok, f"{nb.name} failed after {secs:.1f} s (its traceback is in the captured stderr above)"
