"Test-wide settings: never touch a model hub, never open a window."
import os
for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg').items(): os.environ.setdefault(k, v)
