#!/usr/bin/env python3
"""exCLIP speed and agreement: ours vs the authors' `exclip` 1.1 package, same model, same inputs, same run.

One caption–image pair on open_clip ViT-B-32 with random weights (`create_model('ViT-B-32', pretrained=None)`, seed 0),
CPU, 2 threads, the default N = 10 and layers 11/11. The reference runs in a subprocess from a throw-away venv that holds
only `exclip` 1.1 (installed with `--no-deps`; a .pth file lends it this venv's torch and open_clip, so both sides run the
same torch build). Only `exclip.explanation` is imported: `exclip.tokenization` needs OpenAI's `clip` package, which is not
on PyPI, and is not needed since the caption is tokenised here.

Usage (from the repository root, venv active):
    python benchmarks/bench_exclip.py                     # creates /tmp/exclip_bench_venv on first use
    python benchmarks/bench_exclip.py --ref-venv DIR --reps 3
Prints a table of wall times and ratios, and the max relative difference of the interaction maps in compat mode.
"""
import argparse, json, os, site, statistics, subprocess, sys, tempfile, time
from pathlib import Path

REF_SCRIPT = r'''
import sys, time, json, torch, open_clip
torch.set_num_threads(int(sys.argv[2]))
d = sys.argv[1]
from exclip.explanation import OpenClipExplainer
model = open_clip.create_model('ViT-B-32', pretrained=None)
model.load_state_dict(torch.load(f'{d}/weights.pt')); model.eval()
ids, img = torch.load(f'{d}/ids.pt'), torch.load(f'{d}/img.pt')
ex = OpenClipExplainer(model, device=torch.device('cpu'))
t0 = time.perf_counter()
A, *lhs = ex.explain(ids, img, text_layer=11, image_layer=11, N=int(sys.argv[3]), compute_lhs_terms=True)
dt = time.perf_counter() - t0
torch.save(A, f'{d}/ref_A.pt')
json.dump(dict(seconds=dt, lhs=lhs, version=__import__('importlib.metadata').metadata.version('exclip')), open(f'{d}/ref.json', 'w'))
'''

def ensure_ref_venv(path:Path)->Path:
    "A venv with exclip 1.1 only; this venv's site-packages (torch, open_clip) are added through a .pth file."
    py = path/'bin'/'python'
    if not py.exists():
        subprocess.run([sys.executable, '-m', 'venv', str(path)], check=True)
        subprocess.run([str(py), '-m', 'pip', 'install', '-q', '--no-deps', 'exclip==1.1'], check=True)
    sp = subprocess.run([str(py), '-c', 'import site; print(site.getsitepackages()[0])'], capture_output=True, text=True, check=True).stdout.strip()
    (Path(sp)/'zz_clip_explain_venv.pth').write_text('\n'.join(site.getsitepackages()) + '\n')
    return py

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ref-venv', default='/tmp/exclip_bench_venv'); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3); ap.add_argument('--N', type=int, default=10)
    ap.add_argument('--caption', default='A white husky and a black dog running in a snow covered forest.')
    ap.add_argument('--skip-ref', action='store_true', help='time ours only')
    a = ap.parse_args()
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    import torch, open_clip
    from clip_explain.core import load_clip
    from clip_explain.exclip import exclip
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    clip = load_clip('ViT-B-32', device='cpu')                          # random weights (warns)
    torch.manual_seed(0)
    sd = open_clip.create_model('ViT-B-32', pretrained=None).state_dict()
    clip.model.load_state_dict(sd); clip.model.eval()
    ids = clip.tokenize([a.caption]).cpu()
    g = torch.Generator().manual_seed(0); img = torch.randn(1, 3, 224, 224, generator=g)
    d = Path(tempfile.mkdtemp(prefix='bench_exclip_'))
    torch.save(sd, d/'weights.pt'); torch.save(ids, d/'ids.pt'); torch.save(img, d/'img.pt')

    def ours(**kw):
        t0 = time.perf_counter(); r = exclip(clip, a.caption, img, N=a.N, **kw); return time.perf_counter() - t0, r
    runs = {'compat, jvp (auto)': dict(compat=True), 'compat, vjp': dict(compat=True, mode='vjp'),
            'paper default (same-length ref), jvp': dict(), 'midpoint rule, jvp': dict(rule='midpoint')}
    first, _ = ours(compat=True)                                         # first call: torch.func warm-up
    times = {k: [] for k in runs}; res = {}
    def rep(n):
        for k, kw in runs.items():
            if 'vjp' in k and times[k]: continue                          # reverse mode is slow: time it once
            for _ in range(n if 'vjp' not in k else 1):
                t, res[k] = ours(**kw); times[k].append(t)
    rep(a.reps)
    ref = None
    if not a.skip_ref:
        py = ensure_ref_venv(Path(a.ref_venv))
        (d/'ref.py').write_text(REF_SCRIPT)
        print(f"running the exclip package ({py}) …", flush=True)
        subprocess.run([str(py), str(d/'ref.py'), str(d), str(a.threads), str(a.N)], check=True)
        ref = json.loads((d/'ref.json').read_text()); ref['A'] = torch.load(d/'ref_A.pt')
        rep(a.reps)                                                      # ours again after the reference: drift check

    print(f"\nexCLIP, one pair, open_clip ViT-B-32 (random weights), CPU {a.threads} threads, N = {a.N}, layers 11/11")
    print(f"caption: {a.caption!r} ({res['compat, jvp (auto)'].n} rows), torch {torch.__version__}, open_clip {open_clip.__version__}")
    print(f"{'run':<42}{'median s':>10}{'min s':>9}{'vs exclip':>11}")
    if ref: print(f"{'exclip ' + ref['version'] + ' OpenClipExplainer.explain':<42}{ref['seconds']:>10.2f}{ref['seconds']:>9.2f}{'1.0×':>11}")
    for k, ts in times.items():
        m = statistics.median(ts); ratio = f"{ref['seconds']/m:.1f}×" if ref else '-'
        print(f"{'ours: ' + k:<42}{m:>10.2f}{min(ts):>9.2f}{ratio:>11}")
    print(f"{'ours: first call (warm-up), compat jvp':<42}{first:>10.2f}")
    out = dict(first=first, times=times, ref_seconds=ref['seconds'] if ref else None)
    if ref:
        A = ref['A'].double()
        for k in ('compat, jvp (auto)', 'compat, vjp'):
            diff = (res[k].A.double() - A).abs().max()/A.abs().max()
            print(f"max |A_ours − A_exclip| / max |A_exclip|, {k}: {diff:.2e}   (shape {tuple(A.shape)}, max |A| {A.abs().max():.3e})")
            out[f'maxrel_{k}'] = float(diff)
        r = res['compat, jvp (auto)']
        print(f"completeness (compat): ΣA = {r.total:.5f}, exact target {r.rhs:.5f}, residual {r.rel_residual:.1%}; "
              f"the original's cosine check: {ref['lhs'][0] - ref['lhs'][1] - ref['lhs'][2] + ref['lhs'][3]:.5f}")
    for k in ('paper default (same-length ref), jvp', 'midpoint rule, jvp'):
        r = res[k]; print(f"completeness ({k}): ΣA = {r.total:.5f}, target {r.rhs:.5f}, residual {r.rel_residual:.1%}")
    (d/'results.json').write_text(json.dumps(out, indent=1, default=float))
    print(f"(inputs and results in {d})")

if __name__ == '__main__': main()
