"""Decomposition and TextSpan speed/memory on ViT-B-32 (random weights, CPU), as ratios against baselines measured in the
same run. Run: python benchmarks/bench_decompose.py [--bs 8] [--reps 5]   (about 2-4 minutes on 2 cores)

* time: `decompose` (non-spatial, spatial) vs plain `encode_images` on the same batch (targets: <= 1.5x and <= 3x);
* memory: peak RSS (sampled) of the spatial decomposition vs the reference's per-head [B, T, T, H, d] materialisation,
  each in a fresh subprocess above the RSS before the call; the ratio compares working memory (peak minus the returned
  array, which both keep) (target: >= 10x less);
* TextSpan over all heads of the last 4 layers with a 3,000-text bank (target: < 30 s).
"""
import argparse, json, os, resource, subprocess, sys, time, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import torch

def _model():
    from clip_explain.core import load_clip
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); return load_clip('ViT-B-32', device='cpu')

def _time(f, reps):
    f(); ts = []
    for _ in range(reps): t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def reference_style(clip, x):
    "The original repository's algebra: per-head outputs for every query row [B, T, T, H, d], then keep row 0."
    from clip_explain.core import attention
    v = clip.vision; _, c = clip.run_with_cache(x, names=[f'ln_1.{l}' for l in range(v.n_layers)], stop_early=False)
    out = []
    for l, b in enumerate(v.blocks):
        w = b.attn; u = c[f'ln_1.{l}']; B, T, d = u.shape; H, dh = w.n_heads, w.head_dim
        _, p = attention(w, u)                                                   # [B, H, T, T]
        val = torch.nn.functional.linear(u, w.W_v, w.b_v).view(B, T, H, dh)
        full = torch.einsum('bhqt,bthc,dhc->bqthd', p, val, w.W_o.view(d, H, dh))  # [B, T, T, H, d]
        out.append(full[:, 0].clone()); del full
    return torch.stack(out, 1)

def _mem_child(mode, bs):
    "Peak RSS above the pre-call RSS while one method runs (sampled every 2 ms), and the size of what it returns."
    import threading, psutil
    from clip_explain.decompose import decompose
    clip = _model(); x = torch.randn(bs, 3, 224, 224)
    with torch.no_grad(): clip.encode_images(x)
    proc = psutil.Process(); before = proc.memory_info().rss; peak = [before]; done = threading.Event()
    def sample():
        while not done.is_set(): peak[0] = max(peak[0], proc.memory_info().rss); time.sleep(0.002)
    th = threading.Thread(target=sample); th.start()
    with torch.no_grad():
        out = decompose(clip, x, spatial=True, bs=bs).heads if mode == 'ours' else reference_style(clip, x)
    done.set(); th.join()
    print(json.dumps(dict(mode=mode, extra_mb=(peak[0] - before)/2**20, out_mb=out.numel()*out.element_size()/2**20)))

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--bs', type=int, default=8); ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--child', default=None); a = ap.parse_args()
    if a.child: return _mem_child(a.child, a.bs)
    from clip_explain.decompose import decompose
    from clip_explain.textspan import textspan
    clip = _model(); x = torch.randn(a.bs, 3, 224, 224)
    rows = []
    t_enc = _time(lambda: clip.encode_images(x), a.reps)
    t_dec = _time(lambda: decompose(clip, x, bs=a.bs), a.reps)
    t_sp = _time(lambda: decompose(clip, x, spatial=True, bs=a.bs), a.reps)
    rows += [('encode_images (baseline)', f'{t_enc*1e3:.0f} ms', '1.00x', ''),
             ('decompose, CLS-head mode', f'{t_dec*1e3:.0f} ms', f'{t_dec/t_enc:.2f}x', '<= 1.5x'),
             ('decompose, spatial mode', f'{t_sp*1e3:.0f} ms', f'{t_sp/t_enc:.2f}x', '<= 3x')]
    mem = {}
    for mode in ('ours', 'reference'):
        r = subprocess.run([sys.executable, __file__, '--child', mode, '--bs', str(a.bs)], capture_output=True, text=True)
        mem[mode] = json.loads(r.stdout.strip().splitlines()[-1])
    work = {k: max(v['extra_mb'] - v['out_mb'], 1.) for k, v in mem.items()}
    rows += [('spatial: peak RSS above start (ours)', f"{mem['ours']['extra_mb']:.0f} MB", f"out {mem['ours']['out_mb']:.0f} MB", ''),
             ('same, per-head T×T×H×d (reference algebra)', f"{mem['reference']['extra_mb']:.0f} MB", f"out {mem['reference']['out_mb']:.0f} MB", ''),
             ('working memory (peak − output), reference / ours', f"{work['reference']:.0f}/{work['ours']:.0f} MB",
              f"{work['reference']/work['ours']:.1f}x less", '>= 10x')]
    g = torch.Generator().manual_seed(0)
    n_img = 1000
    heads = torch.randn(n_img, 12, 12, 512, generator=g)/30
    bank = torch.nn.functional.normalize(torch.randn(3000, 512, generator=g), dim=-1)
    t0 = time.perf_counter(); textspan(heads, [str(i) for i in range(3000)], bank, m=10, layers=4, progress_bar=False)
    t_ts = time.perf_counter() - t0
    rows.append((f'TextSpan 4 layers × 12 heads, 3,000 texts, {n_img} images, m=10', f'{t_ts:.1f} s', '', '< 30 s'))
    w = max(len(r[0]) for r in rows)
    print(f"ViT-B-32 (random weights), CPU, batch {a.bs}, torch threads {torch.get_num_threads()}")
    print(f"{'what':<{w}}  {'measured':>10}  {'ratio':>10}  target")
    for r in rows: print(f"{r[0]:<{w}}  {r[1]:>10}  {r[2]:>10}  {r[3]}")

if __name__ == '__main__': main()
