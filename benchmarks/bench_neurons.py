"""Second-order neuron effects on ViT-B-32 (random weights): the factorised form vs the literal brute-force oracle, for all
3,072 neurons of layer 9 and a batch of images, measured in the same run (target: >= 100x faster). Also peak memory.
Run: python benchmarks/bench_neurons.py [--bs 4] [--device cpu|cuda] [--reps 3]

* `second_order_effects` (factorised; `U` computed once per layer and reused, as in a dataset run; the time with `U` built
  in the call is reported too);
* `second_order_bruteforce` in float32: explicit [B, T, N, d] tensors per later head, attention applied to every query row
  (the reference's algebra);
* memory: peak RSS above the start (CPU, sampled every 2 ms) or `torch.cuda.max_memory_allocated` (GPU), per method;
* storage: bytes per image of the stored factors vs the dense [N, d_out] effect the reference saves.
"""
import argparse, json, os, threading, time, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import torch

def _model(device):
    from clip_explain.core import load_clip
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); return load_clip('ViT-B-32', device=device)

class Peak:
    "Peak memory above the start of the block (RSS on CPU, allocator on CUDA), in MiB."
    def __init__(self, device): self.device = device
    def __enter__(self):
        if self.device == 'cuda':
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); self.before = torch.cuda.memory_allocated(); return self
        import psutil
        self.proc = psutil.Process(); self.before = self.proc.memory_info().rss; self.peak = self.before
        self.done = threading.Event(); self.th = threading.Thread(target=self._sample); self.th.start(); return self
    def _sample(self):
        while not self.done.is_set(): self.peak = max(self.peak, self.proc.memory_info().rss); time.sleep(0.002)
    def __exit__(self, *a):
        if self.device == 'cuda': torch.cuda.synchronize(); self.mb = (torch.cuda.max_memory_allocated() - self.before)/2**20
        else: self.done.set(); self.th.join(); self.mb = (self.peak - self.before)/2**20

def _time(f, reps, device):
    f()
    ts = []
    for _ in range(reps):
        if device == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter(); f()
        if device == 'cuda': torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return min(ts)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--bs', type=int, default=4); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--layer', type=int, default=9); ap.add_argument('--device', default='cpu'); a = ap.parse_args()
    from clip_explain.neurons import second_order_effects, second_order_bruteforce, neuron_projections, neuron_factors
    clip = _model(a.device); v = clip.vision
    x = torch.randn(a.bs, 3, 224, 224, device=a.device)
    U = neuron_projections(clip, a.layer)
    with torch.no_grad():
        fast = lambda: second_order_effects(clip, x, a.layer, U=U)
        fast_u = lambda: second_order_effects(clip, x, a.layer)
        brute = lambda: second_order_bruteforce(clip, x, a.layer, dtype=torch.float32)
        enc = lambda: clip.encode_images(x)
        t_enc = _time(enc, a.reps, a.device); t_fast = _time(fast, a.reps, a.device); t_fast_u = _time(fast_u, a.reps, a.device)
        with Peak(a.device) as pf: phi = fast()
        with Peak(a.device) as pb: ref = brute()
        t_brute = _time(brute, max(1, a.reps - 2), a.device)
    rel = float((phi - ref).abs().max()/ref.abs().max())
    f = neuron_factors(clip, x[:1], a.layer)
    store = (f['S'].numel() + f['const'].numel())*4; dense = v.n_neurons*v.embed_dim*4
    rows = [('forward pass only (encode_images)', t_enc, None),
            ('factorised, U cached (per batch)', t_fast, pf.mb),
            ('factorised, U built in the call', t_fast_u, None),
            ('brute force (reference algebra, fp32)', t_brute, pb.mb)]
    dev = torch.cuda.get_device_name() if a.device == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f"ViT-B-32 (random weights), layer {a.layer}: {v.n_neurons} neurons x {(v.n_layers - a.layer - 1)*v.n_heads} later heads, "
          f"batch {a.bs}, {dev}")
    print(f"{'method':<40}{'time (s)':>10}{'per image':>11}{'peak MiB':>10}")
    for name, t, mb in rows: print(f"{name:<40}{t:>10.3f}{t/a.bs:>11.4f}{'' if mb is None else f'{mb:>10.0f}'}")
    beyond = lambda t: max(t - t_enc, 1e-9)
    print(f"speed-up, factorised vs brute force: {t_brute/t_fast:.0f}x end to end (U built in the call: {t_brute/t_fast_u:.0f}x); "
          f"{beyond(t_brute)/beyond(t_fast):.0f}x beyond the forward pass both need; factorised / forward pass: {t_fast/t_enc:.2f}x")
    print(f"peak memory, brute force / factorised: {pb.mb/max(pf.mb, 1e-9):.0f}x")
    print(f"max |diff| / max |phi|: {rel:.1e}")
    print(f"storage per image: factors {store/2**10:.0f} KiB vs dense phi {dense/2**10:.0f} KiB ({dense/store:.1f}x); "
          f"5,124 images: {5124*store/2**30:.2f} GiB vs {5124*dense/2**30:.1f} GiB")
    print(json.dumps(dict(bs=a.bs, device=dev, t_enc=t_enc, t_fast=t_fast, t_fast_u=t_fast_u, t_brute=t_brute,
                          speedup=t_brute/t_fast, speedup_beyond_forward=beyond(t_brute)/beyond(t_fast), mem_fast_mb=pf.mb, mem_brute_mb=pb.mb, rel_diff=rel)))

if __name__ == '__main__': main()
