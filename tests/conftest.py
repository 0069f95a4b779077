"Test-wide settings, applied before any test module imports torch/transformers/matplotlib: no model hub, no windows."
import os
for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg').items(): os.environ.setdefault(k, v)
