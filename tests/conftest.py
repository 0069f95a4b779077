"Test-wide settings, applied before any test module imports torch/transformers/matplotlib: no model hub, no windows."
import os
for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg').items(): os.environ.setdefault(k, v)

def pytest_configure(config):
    config.addinivalue_line('markers', "slow: real-size architectures and long runs, skipped unless CLIP_EXPLAIN_TEST_FLAGS "
                                       "(or CLIP_EXPLAIN_RUN) has 'slow' (see tests/test_real_paths.py)")
