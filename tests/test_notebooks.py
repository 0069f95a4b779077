"""Every notebook in nbs/ is one pytest test, run in-process by nbdev's own `test_nb` (one torch import for all).

Flagged cells (`tst_flags` in settings.ini: notest slow weights gpu) are skipped unless forced through the
environment variable CLIP_EXPLAIN_TEST_FLAGS, e.g. CLIP_EXPLAIN_TEST_FLAGS="slow weights".
"""
import os
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb as _run_nb, _keep_file

cfg = get_config()
SKIP = cfg.tst_flags.split()
FORCE = os.environ.get('CLIP_EXPLAIN_TEST_FLAGS', '').split()
NBS = sorted(p for p in nbglob(cfg.nbs_path, as_path=True) if _keep_file(Path(p), '.notest'))

def test_found_notebooks(): assert len(NBS) >= 4, NBS

@pytest.mark.parametrize('nb', NBS, ids=[Path(p).name for p in NBS])
def test_notebook(nb):
    ok, secs = _run_nb(nb, skip_flags=SKIP, force_flags=FORCE, basepath=cfg.config_path)
    assert ok, f"{Path(nb).name} failed (traceback above)"
