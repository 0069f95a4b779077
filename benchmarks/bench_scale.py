"""Dataset scale on one CPU machine: peak memory of a decomposition written to a store, and TextSpan streamed from a store.

Run from the repository root (heavy: use `nice`, one at a time):

    python benchmarks/bench_scale.py rss [--n 128 512 2048] [--bs 16] [--shard 128]
    python benchmarks/bench_scale.py textspan [--images 50000] [--texts 3000] [--shard 1000]

* rss: ViT-B-32 with random weights (`load_clip('ViT-B-32')`: open_clip, no pretrained tag) decomposes N shapes-world
  scenes (224 px after preprocessing) into a store with `decompose_dataset(..., root=DIR, lazy=True)`, each N in a fresh
  subprocess; peak RSS is the child's `resource.getrusage(RUSAGE_SELF).ru_maxrss`. The baseline, in the same run and on the
  same store, is the default call (`lazy=False`) that returns the whole decomposition in memory: it reads the finished
  shards back from the store (nothing is recomputed) and holds them, so its peak grows with N.
* textspan: a synthetic float16 store shaped like ViT-L-14's last 4 layers (`[n, 4, 16, 768]`, 64 heads; entries are
  seeded: per head a random 64-dimensional span with a decaying spectrum, as a head of width 64 writes, plus 1 %
  isotropic noise, so the scatter is of full rank), written once
  with `ShardCache` under a decomposition config (`head_layers` 20…23 of a 24-layer tower) to `--root`; then in a fresh
  subprocess `textspan(store, texts, R, m=10, layers=4)` with a bank of random unit text vectors, timed, with its peak RSS.
  The store is read through the page cache (it was just written and fits in RAM): disk speed is not measured.
"""
import argparse, json, os, resource, subprocess, sys, time, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

def _peak_mb()->float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024     # Linux: KiB

def _child_rss(n:int, root:str, bs:int, shard:int, lazy:bool):
    import torch
    from clip_explain.core import load_clip
    from clip_explain.data import ShapesWorld
    from clip_explain.decompose import decompose_dataset
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); clip = load_clip('ViT-B-32', device='cpu')
    base = _peak_mb(); t = time.perf_counter()
    out = decompose_dataset(clip, ShapesWorld(n, seed=0), root=root, bs=bs, shard_size=shard, lazy=lazy)
    dt = time.perf_counter() - t
    held = sum(v.nbytes for v in out.values()) if lazy else sum(getattr(out, f).numel()*4 for f in ('heads', 'mlps', 'attn', 'cls'))
    print(json.dumps(dict(n=n, lazy=lazy, s=dt, peak_mb=_peak_mb(), model_mb=base, data_mb=held/2**20)))

def _child_textspan(root:str, n_texts:int):
    import numpy as np, torch
    from clip_explain.cache import ShardCache
    from clip_explain.textspan import textspan
    cache = ShardCache(root, _store_config(), 'decompose')
    heads = cache.lazy(['heads'])['heads']
    g = torch.Generator().manual_seed(1)
    R = torch.nn.functional.normalize(torch.randn(n_texts, heads.shape[-1], generator=g), dim=-1)
    base = _peak_mb(); t = time.perf_counter()
    ts = textspan(heads, [f'text {i}' for i in range(n_texts)], R, m=10, layers=4)
    dt = time.perf_counter() - t
    v = [s.variance[-1] for _, s in ts]
    print(json.dumps(dict(s=dt, peak_mb=_peak_mb(), start_mb=base, n=ts.provenance['n_images'], heads=len(v),
                          store_mb=heads.nbytes/2**20, var_min=min(v), var_max=max(v))))

def _store_config()->dict:
    return dict(kind='decomposition', synthetic='bench_scale ViT-L-14 shape', head_layers=[20, 21, 22, 23],
                model=dict(name='synthetic ViT-L-14 shape', layers=24, heads=16, embed_dim=768))

def _write_store(root:str, n:int, shard:int):
    "A float16 store of `[n, 4, 16, 768]` correlated Gaussian head terms (seeded), written once."
    import torch
    from clip_explain.cache import ShardCache
    cache = ShardCache(root, _store_config(), 'decompose', n_shards=-(-n//shard), dtype='float16')
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(64, 64, 768, generator=g)/8*torch.logspace(0, -2, 64)[:, None]   # per head: a 64-dim output span
    t = time.perf_counter()
    for k, i in enumerate(range(0, n, shard)):
        if k in cache.done(): continue
        s = min(shard, n - i)
        x = torch.bmm(torch.randn(64, s, 64, generator=g), mix) + 0.01*torch.randn(64, s, 768, generator=g)   # + isotropic noise
        x = x.transpose(0, 1).reshape(s, 4, 16, 768)/10 + 0.01
        cache.write(k, {'heads': x})
    return cache, time.perf_counter() - t

def _run(args:list)->dict:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('what', choices=['rss', 'textspan', 'child-rss', 'child-textspan'])
    ap.add_argument('--n', type=int, nargs='+', default=[128, 512, 2048]); ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--shard', type=int, default=None); ap.add_argument('--root', default='/tmp/clip_explain_bench_scale')
    ap.add_argument('--images', type=int, default=50_000); ap.add_argument('--texts', type=int, default=3000)
    ap.add_argument('--lazy', type=int, default=1)
    a = ap.parse_args()
    if a.what == 'child-rss': return _child_rss(a.n[0], a.root, a.bs, a.shard, bool(a.lazy))
    if a.what == 'child-textspan': return _child_textspan(a.root, a.texts)
    import torch
    print(f"CPU, torch threads {torch.get_num_threads()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if a.what == 'rss':
        shard = a.shard or 128
        print(f"ViT-B-32 (random weights), batch {a.bs}, shards of {shard} images")
        print(f"{'images':>7} {'store: s':>9} {'store: peak RSS':>16} {'in memory: peak RSS':>20} {'held in memory':>15}")
        for n in a.n:
            root = f"{a.root}/rss-{n}"
            lazy = _run(['child-rss', '--n', str(n), '--root', root, '--bs', str(a.bs), '--shard', str(shard), '--lazy', '1'])
            full = _run(['child-rss', '--n', str(n), '--root', root, '--bs', str(a.bs), '--shard', str(shard), '--lazy', '0'])
            print(f"{n:>7} {lazy['s']:>8.0f}s {lazy['peak_mb']:>13.0f} MB {full['peak_mb']:>17.0f} MB {full['data_mb']:>12.0f} MB", flush=True)
            import shutil; shutil.rmtree(root, ignore_errors=True)
    else:
        shard = a.shard or 1000
        root = f"{a.root}/textspan-{a.images}-{shard}"
        cache, dt = _write_store(root, a.images, shard)
        print(f"synthetic float16 store {cache.dir}: {a.images} × 4 layers × 16 heads × 768, shards of {shard} (written in {dt:.0f} s)")
        for _ in range(1):
            r = _run(['child-textspan', '--root', root, '--texts', str(a.texts)])
            print(f"TextSpan, 64 heads, {r['n']} images, {a.texts} texts, m=10: {r['s']:.1f} s, peak RSS {r['peak_mb']:.0f} MB "
                  f"(store {r['store_mb']:.0f} MB on disk; variance explained {r['var_min']:.3f}–{r['var_max']:.3f})", flush=True)

if __name__ == '__main__': main()
