"""Dataset-scale runs split across processes with torchrun (gloo on CPU) give the single-process result.

Each test starts `python -m torch.distributed.run --standalone --nproc-per-node 2` on a small script, as a user would start
`torchrun`, and compares what rank 0 saved with the same call in this process."""
import os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest, torch

def torchrun(tmp_path:Path, script:str, *args, n:int=2, **env):
    (tmp_path/'rank_script.py').write_text(textwrap.dedent(script))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(n), '--max-restarts', '0',
           str(tmp_path/'rank_script.py'), *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**os.environ, 'OMP_NUM_THREADS': '1', **{k: str(v) for k, v in env.items()}})
    assert r.returncode == 0, r.stderr[-3000:]
    return r

DECOMPOSE = '''
import sys, torch
from clip_explain.core import load_clip
from clip_explain.cache import init_distributed
from clip_explain.data import ShapesWorld
from clip_explain.decompose import decompose_dataset
rank, world = init_distributed()
assert world == 2
clip = load_clip(device='cpu')
dec = decompose_dataset(clip, [s.to_pil() for s in ShapesWorld(22, seed=3)], root=sys.argv[1], bs=4, shard_size=4)
if rank == 0: torch.save(dict(heads=dec.heads, embedding=dec.embedding, ids=dec.ids), sys.argv[2])
'''

def test_decompose_two_ranks_equal_one_process(tmp_path):
    from clip_explain.core import load_clip
    from clip_explain.data import ShapesWorld
    from clip_explain.decompose import decompose_dataset
    torchrun(tmp_path, DECOMPOSE, tmp_path/'store', tmp_path/'two.pt')
    two = torch.load(tmp_path/'two.pt')
    one = decompose_dataset(load_clip(device='cpu'), [s.to_pil() for s in ShapesWorld(22, seed=3)], bs=4)
    assert two['ids'] == one.ids and len(one.ids) == 22
    torch.testing.assert_close(two['heads'], one.heads, atol=1e-5, rtol=0)
    torch.testing.assert_close(two['embedding'], one.embedding, atol=1e-5, rtol=0)
    shards = sorted((tmp_path/'store').glob('*/shard*.done.json'))
    assert len(shards) == 6                                  # 22 images in shards of 4, written by both ranks

def test_no_store_under_torchrun_is_one_line_error(tmp_path):
    script = '''
    from clip_explain.cache import cached_map, init_distributed
    from clip_explain.inputs import UserError
    init_distributed()
    try: cached_map(lambda xs: {'x': xs}, [1, 2, 3], None, {})
    except UserError as e: print('USERERROR', e)
    '''
    r = torchrun(tmp_path, script)
    assert r.stdout.count('USERERROR') == 2 and 'cache folder' in r.stdout

def test_cli_decompose_under_torchrun_equals_one_process(tmp_path):
    "The README's form: torchrun --nproc-per-node 2 $(which clip-explain) decompose --images DIR … --cache DIR; rank 0 writes --out."
    import shutil
    from clip_explain.cli import run
    from clip_explain.data import ShapesWorld
    from clip_explain.decompose import Decomposition
    exe = shutil.which('clip-explain'); assert exe, 'the console script is not installed'
    (tmp_path/'photos'/'sub').mkdir(parents=True)
    for i, s in enumerate(ShapesWorld(18, seed=4)): s.to_pil().save(tmp_path/'photos'/('sub' if i % 3 else '.')/f'scene{i:02d}.png')
    args = ['decompose', '--images', str(tmp_path/'photos'), '--bs', '4']
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '--max-restarts', '0',
                        exe, *args, '--cache', str(tmp_path/'cache'), '--out', 'two.safetensors'],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('saved ') == 1                     # rank 0 alone reports (and writes)
    two = Decomposition.load(tmp_path/'two.safetensors')
    one = run([*args, '--out', str(tmp_path/'one.safetensors')])
    assert two.ids == one.ids and len(one.ids) == 18
    torch.testing.assert_close(two.heads, one.heads, atol=1e-5, rtol=0)
    assert len(list((tmp_path/'cache').glob('*/shard*.done.json'))) >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cache', 'one.safetensors', 'photos', 'two.safetensors']   # nothing from rank 1

def test_cli_exclip_batch_under_torchrun_equals_one_process(tmp_path):
    "exCLIP batch mode splits its batches across ranks and rank 0 writes the index; every pair equals the one-process run."
    import json, shutil
    from clip_explain.cli import run
    from clip_explain.data import ShapesWorld
    from clip_explain.exclip import Interactions
    exe = shutil.which('clip-explain'); assert exe
    (tmp_path/'photos').mkdir()
    for i, s in enumerate(ShapesWorld(5, seed=6, n_objects=1)): s.to_pil().save(tmp_path/'photos'/f'p{i}.png')
    args = ['exclip', '--images', str(tmp_path/'photos'), '--caption', 'a red circle on the left', '--bs', '2', '--no-figures', '--quiet']
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '--max-restarts', '0',
                        exe, *args, '--out', 'two'], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    run([*args, '--out', str(tmp_path/'one')])
    two, one = (json.loads((tmp_path/d/'index.json').read_text()) for d in ('two', 'one'))
    assert [p['id'] for p in two['pairs']] == [p['id'] for p in one['pairs']] == [f'p{i}.png' for i in range(5)]
    assert not list((tmp_path/'two').glob('.exclip-parts-*'))          # the per-batch records are merged and removed
    for p, q in zip(two['pairs'], one['pairs']):
        a, b = Interactions.load(tmp_path/'two'/p['interactions']), Interactions.load(tmp_path/'one'/q['interactions'])
        torch.testing.assert_close(a.A, b.A, atol=1e-5, rtol=0)

NEURONS = '''
import sys, torch
from clip_explain.core import load_clip
from clip_explain.cache import init_distributed
from clip_explain.data import ShapesWorld
from clip_explain.neurons import neuron_effects
rank, world = init_distributed()
eff = neuron_effects(load_clip(device='cpu'), ShapesWorld(21, seed=5), layer=2, bs=4, root=sys.argv[1], shard_size=4)
if rank == 0: torch.save(dict(S=eff.S, const=eff.const, direct=eff.direct, ids=eff.ids), sys.argv[2])
'''

def test_neuron_factors_two_ranks_equal_one_process(tmp_path):
    from clip_explain.core import load_clip
    from clip_explain.data import ShapesWorld
    from clip_explain.neurons import neuron_effects
    torchrun(tmp_path, NEURONS, tmp_path/'store', tmp_path/'two.pt')
    two = torch.load(tmp_path/'two.pt')
    one = neuron_effects(load_clip(device='cpu'), ShapesWorld(21, seed=5), layer=2, bs=4)
    assert two['ids'] == one.ids and len(one.ids) == 21
    for k in ('S', 'const', 'direct'): torch.testing.assert_close(two[k], getattr(one, k), atol=1e-5, rtol=0)
    assert len(list((tmp_path/'store').glob('*/shard*.done.json'))) == 6   # 21 images in shards of 4, from both ranks

def test_decompose_float16_store_halves_the_disk(tmp_path):
    "store_dtype='float16' (CLI --dtype float16): shards on disk are half the size, the result is float32 within fp16 rounding."
    from clip_explain.core import load_clip
    from clip_explain.data import ShapesWorld
    from clip_explain.decompose import decompose_dataset
    from clip_explain.inputs import UserError
    clip, ims = load_clip(device='cpu'), [s.to_pil() for s in ShapesWorld(10, seed=2)]
    full = decompose_dataset(clip, ims, root=tmp_path/'f32', bs=5)
    half = decompose_dataset(clip, ims, root=tmp_path/'f16', bs=5, store_dtype='float16')
    size = lambda d: sum(p.stat().st_size for p in (tmp_path/d).rglob('*.heads.npy'))
    assert 0.45 < size('f16')/size('f32') < 0.55
    assert half.heads.dtype == torch.float32
    err = (half.heads - full.heads).abs().max() / full.heads.abs().max()
    assert 0 < err < 2e-3, err                               # rounded, within half precision
    with pytest.raises(UserError, match='store_dtype'): decompose_dataset(clip, ims, root=tmp_path/'x', store_dtype='int8')
