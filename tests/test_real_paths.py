"""Real-path acceptance suite (issue #11, item 6): every `clip-explain` command on a user's own photos, checkpoints and
mistakes, run as a separate process and judged by what a user sees: the exit status, the files written, the files read back
with the library, and one `clip-explain: error: …` line naming the culprit.

What it builds (once per session, in a temporary folder; see `real_fixtures.py`):
* `good/`: 16 real photographs from installed wheels (scikit-image, scikit-learn, matplotlib) in nested class folders, in
  every format and mode (JPEG, PNG, BMP, GIF, WebP, TIFF, greyscale, RGBA, palette + transparency, CMYK, 16-bit,
  EXIF-rotated, 5×7 px, 6000×4000 px), plus files that must be ignored (README.txt, .DS_Store, a hidden file).
* `photos/`: the same plus a truncated JPEG and a text file named `.jpg`.
* models a user points the CLI at: a tiny random open_clip architecture as `tiny-vit.json` + `tiny-vit.pt`, a tiny random
  Hugging Face CLIP folder, the bundled default, and a tiny ResNet (`tiny-rn.json` + `.pt`, not a ViT). With the `slow`
  flag also ViT-B-16 and RN50 with random weights from files (real-size architectures).

Commands run through a fork server (`real_fixtures.serve`): each command is a fresh process doing exactly what the console
script does (`sys.exit(main())`), without paying the 5-15 s import of torch/open_clip/transformers per command. A few
tests run the installed `clip-explain` script itself; with `CLIP_EXPLAIN_TEST_FLAGS=exec` every command does.

Flags (`CLIP_EXPLAIN_TEST_FLAGS`, words): `slow` (the real-size architectures and the full tour on every model; also on
with `CLIP_EXPLAIN_RUN=slow` or `all`), `exec` (every command through the console script), `all` (both).
    CLIP_EXPLAIN_TEST_FLAGS=slow python -m pytest -q tests/test_real_paths.py
"""
from __future__ import annotations
import csv, json, os, re, shutil, subprocess, sys, time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_fixtures as rf

def _flags()->set:
    f = set(os.environ.get('CLIP_EXPLAIN_TEST_FLAGS', '').replace(',', ' ').split())
    run = set(os.environ.get('CLIP_EXPLAIN_RUN', '').replace(',', ' ').split())
    if run & {'slow', 'all'}: f.add('slow')
    if 'all' in f: f |= {'slow', 'exec'}
    return f

FLAGS = _flags()
SLOW, EXEC = 'slow' in FLAGS, 'exec' in FLAGS
slow = [pytest.mark.slow, pytest.mark.skipif(not SLOW, reason="real-size architecture: set CLIP_EXPLAIN_TEST_FLAGS=slow")]
TIMEOUT = 900 if SLOW else 420                  # seconds per command

GOOD_IDS = sorted(rf.GOOD)
BAD_IDS = sorted(rf.BAD)
BAD_NAMES = tuple(Path(b).name for b in BAD_IDS)    # what an error line must name (one of them: the first one read)

def flat(image_id:str)->str:
    "The contract's file name stem of an output written for one image: its relative path with `/` → `__`."
    return image_id.replace('/', '__')

def named_after(name:str, image_id:str, suffix:str)->bool:
    "Is `name` the output file of `image_id`: `flat(id) + suffix`, or that with characters unsafe in file names replaced by `_`?"
    return name in (flat(image_id) + suffix, re.sub(r'[^A-Za-z0-9._-]+', '_', flat(image_id)).lstrip('.') + suffix)

# ---------------------------------------------------------------------------------------------------------------------
# Models

@dataclass
class Model:
    key:str
    args:list            # what goes on the command line
    load:tuple           # (name, pretrained) for `load_clip` in this process
    layers:int|None      # ViT layers and heads (None: not a ViT)
    heads:int|None
    @property
    def vit(self)->bool: return self.layers is not None

MODELS = ['openclip-file', 'hf-folder', 'bundled', 'resnet-file']
SLOW_MODELS = ['ViT-B-16-file', 'RN50-file']
VIT_ONLY = {'decompose', 'segment', 'ablate', 'textspan', 'neurons'}   # the rest use CLIP as an encoder only (exclip: ViT patches or ResNet cells)

def _models(W)->dict:
    m = W.models
    out = {'openclip-file': Model('openclip-file', ['--model', m['vit_json'], '--pretrained', m['vit_pt']], (m['vit_json'], m['vit_pt']), 3, 4),
           'hf-folder': Model('hf-folder', ['--model', m['hf']], (m['hf'], None), 3, 4),
           'bundled': Model('bundled', [], (None, None), 4, 4),
           'resnet-file': Model('resnet-file', ['--model', m['rn_json'], '--pretrained', m['rn_pt']], (m['rn_json'], m['rn_pt']), None, None)}
    if 'vitb16' in m:
        out['ViT-B-16-file'] = Model('ViT-B-16-file', ['--model', 'ViT-B-16', '--pretrained', m['vitb16']], ('ViT-B-16', m['vitb16']), 12, 12)
        out['RN50-file'] = Model('RN50-file', ['--model', 'RN50', '--pretrained', m['rn50']], ('RN50', m['rn50']), None, None)
    return {k: Model(v.key, [str(a) for a in v.args], tuple(None if a is None else str(a) for a in v.load), v.layers, v.heads)
            for k, v in out.items()}

# ---------------------------------------------------------------------------------------------------------------------
# Running commands

@dataclass
class Run:
    argv:list; rc:int; out:str; err:str; seconds:float; how:str
    def tail(self, n:int=2500)->str:
        return (f"\n$ clip-explain {' '.join(self.argv)}\nexit {self.rc} after {self.seconds:.1f} s ({self.how})\n"
                f"--- stdout (end) ---\n{self.out[-1200:]}\n--- stderr (end) ---\n{self.err[-n:]}")
    @property
    def lines(self)->list:
        "stderr as a terminal shows it: each line's text after its last carriage return (progress bars redraw with \\r)."
        return [l.split('\r')[-1] for l in self.err.split('\n') if l.split('\r')[-1].strip()]

class Runner:
    "Runs `clip-explain ARGV` in a fresh process (the fork server, or the console script) and caches runs by name."
    def __init__(self, root:Path):
        self.root, self.runs, self.proc, self.exe = root, {}, None, shutil.which('clip-explain')
        assert self.exe, "the clip-explain console script is not on PATH (pip install -e .)"
    def _server(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, rf.__file__, 'serve'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, env=rf.cli_env(), cwd=self.root)
            line = self.proc.stdout.readline()
            assert line and json.loads(line).get('ready'), f"the fork server did not start: {line!r}"
        return self.proc
    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try: self.proc.wait(30)
            except subprocess.TimeoutExpired: self.proc.kill()
    def __call__(self, name:str, argv:list, exec_:bool=False, timeout:int=TIMEOUT)->Run:
        if name in self.runs: return self.runs[name]
        argv = [str(a) for a in argv]
        d = self.root/'logs'; d.mkdir(exist_ok=True)
        cwd = self.root/'cwd'/re.sub(r'[^A-Za-z0-9._-]+', '_', name); cwd.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        if exec_ or EXEC:
            try:
                p = subprocess.run([self.exe, *argv], capture_output=True, text=True, env=rf.cli_env(), cwd=cwd, timeout=timeout)
                r = Run(argv, p.returncode, p.stdout, p.stderr, time.time() - t0, 'console script')
            except subprocess.TimeoutExpired as e:
                r = Run(argv, 124, str(e.stdout or ''), str(e.stderr or ''), time.time() - t0, 'console script, timed out')
        else:
            fo, fe = d/f'{cwd.name}.out', d/f'{cwd.name}.err'
            srv = self._server()
            srv.stdin.write(json.dumps(dict(argv=argv, cwd=str(cwd), out=str(fo), err=str(fe), timeout=timeout)) + '\n'); srv.stdin.flush()
            line = srv.stdout.readline()
            assert line, "the fork server died"
            rc = json.loads(line)['rc']
            r = Run(argv, rc, fo.read_text(errors='replace'), fe.read_text(errors='replace'), time.time() - t0,
                    'fresh process (fork server)' + (', timed out' if rc == 124 else ''))
        self.runs[name] = r
        return r

def ok(run:Run):
    assert run.rc == 0, "expected exit status 0" + run.tail()

def user_error(run:Run, *names:str)->str:
    "Exit 2, no traceback, exactly one `clip-explain: error: …` line, on its own line, last, naming one of `names`."
    problems, lines = [], run.lines
    if run.rc != 2: problems.append(f"exit status {run.rc}, not 2")
    if 'Traceback (most recent call last)' in run.err: problems.append("a traceback on stderr")
    errs = [l for l in lines if 'clip-explain: error:' in l]
    if len(errs) != 1: problems.append(f"{len(errs)} 'clip-explain: error:' lines, not one")
    elif not errs[0].startswith('clip-explain: error:'):
        problems.append(f"the error does not start a line of its own (glued to earlier output: {errs[0][:100]!r}…)")
    elif lines[-1] != errs[0]: problems.append(f"the error is not the last line of stderr (then: {lines[-1][:100]!r})")
    if errs and names and not any(n in errs[0] for n in names): problems.append(f"the error line names none of {list(names)}")
    assert not problems, '; '.join(problems) + run.tail()
    return errs[0]

# ---------------------------------------------------------------------------------------------------------------------
# Reading outputs back

def jload(p:Path):
    assert p.is_file(), f"missing output file {p}"
    return json.loads(p.read_text(encoding='utf-8'))

def id_maps(obj, ids)->list:
    "Every dict inside a JSON value whose keys are exactly the image ids (an index id → output)."
    found, want = [], set(ids)
    def walk(o):
        if isinstance(o, dict):
            if set(o) == want: found.append(o)
            for v in o.values(): walk(v)
        elif isinstance(o, list):
            for v in o: walk(v)
    walk(obj); return found

def skipped_in(obj)->dict:
    "The union of every `skipped` entry inside a JSON value ({id: reason} dicts or lists of ids)."
    out = {}
    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == 'skipped' and isinstance(v, dict): out.update({str(a): b for a, b in v.items()})
                elif k == 'skipped' and isinstance(v, list): out.update({str(a): '' for a in v})
                else: walk(v)
        elif isinstance(o, list):
            for v in o: walk(v)
    walk(obj); return out

def check_skipped(where:str, found:dict, skipped:list):
    "The outputs list exactly the unreadable files, each with a reason when reasons are given."
    assert sorted(found) == sorted(skipped), f"{where}: outputs list {sorted(found)} as skipped; expected {sorted(skipped)}"

def check_files_named(folder:Path, ids:list, suffix:str, exact:bool=True, ignore=()):
    "One file per image named after it (`flat(id) + suffix`) in `folder`, and (exact) no other file of that kind."
    have = sorted(p.name for p in folder.iterdir() if p.name.endswith(suffix) and p.name not in ignore)
    missing = [i for i in ids if not any(named_after(h, i, suffix) for h in have)]
    assert not missing, f"{folder}: no output named after {missing[:4]} (have {have[:4]}…)"
    extra = [h for h in have if not any(named_after(h, i, suffix) for i in ids)]
    if exact: assert not extra and len(have) == len(ids), f"{folder}: unexpected files {extra[:6]} ({len(have)} for {len(ids)} images)"

def check_png(p:Path):
    from PIL import Image
    assert p.is_file(), f"missing {p}"
    with Image.open(p) as im: im.load(); assert min(im.size) > 0

# ---------------------------------------------------------------------------------------------------------------------
# The world: fixtures built once per session

class World:
    def __init__(self, root:Path):
        self.root = root
        f = rf.build_folders(root/'data'); self.good, self.photos = f['good'], f['photos']
        self.texts = rf.build_texts(root/'texts', GOOD_IDS + BAD_IDS)
        pairs_all = {i: [rf.captions_for([i])[i][0]] for i in GOOD_IDS + BAD_IDS}     # one caption per file, bad ones too
        self.texts['pairs_all'] = root/'texts'/'pairs_all.json'; self.texts['pairs_all'].write_text(json.dumps(pairs_all, indent=1))
        self.models = rf.build_models(root/'models')
        if SLOW: self.models.update(rf.build_big_models(root/'models'))
        self.model = _models(self)
        self.out = root/'out'; self.out.mkdir()
        self.run = Runner(root)
        self._clips = {}
    def clip(self, key:str):
        "The model loaded in this process (for independent expectations)."
        if key not in self._clips:
            from clip_explain.core import load_clip
            name, pre = self.model[key].load
            self._clips[key] = load_clip(name, pretrained=pre, device='cpu')
        return self._clips[key]
    def src(self, which:str)->Path:
        return {'good': self.good, 'photos': self.photos}.get(which) or self.root/which

@pytest.fixture(scope='session')
def W(tmp_path_factory):
    w = World(tmp_path_factory.mktemp('real_paths'))
    yield w
    w.run.close()

# ---------------------------------------------------------------------------------------------------------------------
# Commands: their arguments (source folder `src`, output `out`) and the checks of their outputs

CONCEPTS_SUB = 'food'        # neurons --concepts draws one figure per image: a sub-folder keeps it seconds (see the report)
FIGURES = {'openclip-file'}  # exclip draws figures on this model (and with --skip-bad); the others run with --no-figures

def _sub(ids:list, sub:str)->list:
    "The ids of the images under `sub/`, relative to it."
    return [i[len(sub) + 1:] for i in ids if i.startswith(sub + '/')]

def _args(cmd:str, W:World, src, out:Path, full_tour:bool=False)->list:
    t = W.texts
    if cmd == 'info': return ['info']
    if cmd == 'tour': return ['tour', '--out', out] + ([] if full_tour else ['--only', 'model', 'world'])   # full: ~1-2 min a model
    if cmd == 'decompose': return ['decompose', '--images', src, '--bs', 4, '--out', out/'decomposition.safetensors']
    if cmd == 'segment': return ['segment', '--images', src, '--bs', 4, '--classes', t['prompts'], '--out', out]
    if cmd == 'ablate': return ['ablate', '--images', src, '--bs', 4, '--templates', 'simple', '--out', out]
    if cmd == 'textspan': return ['textspan', '--images', src, '--bs', 4, '--bank', t['bank'], '--m', 3, '--layers', 2, '--out', out]
    if cmd == 'neurons': return ['neurons', '--images', src, '--bs', 4, '--bank', t['bank'], '--m', 4, '--top-k', 4, '--n-top-images', 3,
                                 '--ablation', src, '--no-indirect', '--segment', src, '--top-neurons', 5,
                                 '--concepts', Path(src)/CONCEPTS_SUB, '--n-words', 3, '--out', out]
    if cmd == 'exclip': return ['exclip', '--images', src, '--caption', 'a photo of something', '--N', 2, '--bs', 4, '--out', out]
    if cmd == 'falcon': return ['falcon', '--images', src, '--bs', 8, '--min-size', 2, '--lim', 1, '--vocab', t['bank'], '--out', out]
    raise KeyError(cmd)

BARS = {'decompose', 'segment', 'ablate', 'textspan', 'neurons', 'exclip', 'falcon'}   # work over a folder: a progress bar

def _check(cmd:str, W:World, model:Model, out:Path, run:Run, ids:list, skipped:list, src:Path):
    "The outputs of `cmd` hold one result per readable image, keyed by its relative path, and list the skipped files."
    n = len(ids)
    if cmd in BARS: assert re.search(r'\|\s*\d+/\d+ \[', run.err), f"no progress bar on stderr for {cmd} over a folder" + run.tail()
    if cmd == 'info':
        m = re.search(r'^layers\s+(\S+)', run.out, re.M)
        if model.vit: assert m and int(m.group(1)) == model.layers, "info does not show the model's layers" + run.tail()
        else: assert 'ClipModel(' in run.out, run.tail()
    elif cmd == 'tour':
        assert (out/'index.html').is_file()
        secs = jload(out/'summary.json')['sections']
        failed = [s['section'] for s in secs if s['ok'] is False]
        assert not failed, f"tour sections failed: {failed}" + run.tail()
        assert len(secs) >= (2 if '--only' in run.argv else 8), secs
        if model.vit: assert all(s['ok'] for s in secs), f"a ViT supports every section: {secs}"
    elif cmd == 'decompose':
        import torch
        from clip_explain.decompose import Decomposition
        dec = Decomposition.load(out/'decomposition.safetensors')
        assert dec.ids == ids, f"decomposition ids {dec.ids[:3]}… are not the folder's relative paths {ids[:3]}…"
        assert dec.n == n and sorted(dec.skipped) == sorted(skipped), (dec.n, dec.skipped)
        assert tuple(dec.layers) == tuple(range(model.layers)) and dec.n_heads == model.heads
        assert dec.embedding.device.type == 'cpu' and dec.error < 1e-4, dec.error
        # join back: row i is the embedding of the file named by ids[i], computed here from its path alone
        E = W.clip(model.key).encode_images([str(src/i) for i in dec.ids], bs=8)
        cos = torch.nn.functional.cosine_similarity(E, dec.embedding.float(), dim=-1)
        assert float(cos.min()) > 0.999, f"rows do not match their images: cosine {cos.tolist()}"
    elif cmd == 'segment':
        idx = jload(out/'index.json')
        maps = id_maps(idx, ids)
        assert maps, f"index.json has no map id → output over exactly the images: {list(idx)}"
        for i, v in maps[0].items():
            name = v if isinstance(v, str) else v.get('map')
            assert named_after(name, i, '.png'), f"{i}: map file {name!r}, not named after the image"
            check_png(out/name)
        check_files_named(out, ids, '.png')
        check_skipped('segment index.json', skipped_in(idx), skipped)
        preds = {v.get('pred') for v in maps[0].values() if isinstance(v, dict)}
        assert preds <= set(rf.PROMPTS) | {None}, preds
    elif cmd == 'ablate':
        a = jload(out/'ablation.json')
        assert a['ids'] == ids, a['ids'][:3]
        assert a['labels'] == [rf.CLASSES.index(i.split('/')[0]) for i in ids], "labels are not the class sub-folders"
        assert a['n_images'] == n and a['n_classes'] == len(rf.CLASSES), (a['n_images'], a['n_classes'])
        check_skipped('ablation.json', skipped_in(a), skipped); check_png(out/'ablation.png')
    elif cmd == 'textspan':
        from clip_explain.textspan import TextSpanResult
        ts = TextSpanResult.load(out/'textspan.json')
        L, H = model.layers, model.heads
        assert ts.heads == [(l, h) for l in range(L - 2, L) for h in range(H)], f"heads {ts.heads}: not the last 2 layers' real indices"
        assert ts.provenance.get('ids') == ids, "TextSpan provenance does not keep the images' ids"
        bank = set(rf.BANK)
        for k, s in ts:
            assert len(s.texts) == 3 and set(s.texts) <= bank, (k, s.texts)
            if s.recon is not None: assert s.recon.shape[0] == n, (k, tuple(s.recon.shape))
        check_skipped('textspan.json', skipped_in(ts.provenance), skipped)
    elif cmd == 'neurons':
        import torch
        im = jload(out/'images.json')
        assert im['ids'] == ids, im['ids'][:3]
        check_skipped('images.json', skipped_in(im), skipped)
        pcs = list(out.glob('pcs_L*.pt')); assert len(pcs) == 1, pcs
        p = torch.load(pcs[0], weights_only=False); assert list(p['ids']) == ids and sorted(p['skipped']) == sorted(skipped)
        s = jload(out/'summary.json')
        assert s['n_images'] == n and all((out/f).is_file() for f in s['files']), s
        seg, con = jload(out/'segmentation'/'index.json'), jload(out/'concepts'/'index.json')
        for what, d, sub, ids_, sk_ in (('segmentation', seg, 'map', ids, skipped),
                                        ('concepts', con, 'figure', _sub(ids, CONCEPTS_SUB), _sub(skipped, CONCEPTS_SUB))):
            assert set(d['images']) == set(ids_), f"{what}/index.json images {sorted(d['images'])[:3]}…, expected {ids_[:3]}…"
            for i, v in d['images'].items():
                assert v[sub].startswith(f'{what}/') and named_after(v[sub][len(what) + 1:], i, '.png'), f"{what}: {v[sub]!r} is not named after {i}"
                check_png(out/v[sub])
            check_files_named(out/what, ids_, '.png')
            check_skipped(f'{what}/index.json', skipped_in(d), sk_)
        ab = jload(out/'ablation.json'); assert ab['n'] == n, ab
        check_skipped('ablation.json', skipped_in(ab), skipped)
    elif cmd == 'exclip':
        from clip_explain.exclip import load_exclip_results
        idx = jload(out/'index.json')
        assert [r['id'] for r in idx['pairs']] == ids, [r['id'] for r in idx['pairs']][:3]
        for r in idx['pairs']:
            assert named_after(r['interactions'], r['id'], '.json'), f"{r['interactions']!r} is not named after {r['id']}"
            if r.get('figure') is not None or '--no-figures' not in run.argv:
                assert named_after(r['figure'], r['id'], '.png'), f"{r['figure']!r} is not named after {r['id']}"
                check_png(out/r['figure'])
        check_files_named(out, ids, '.json', ignore=('index.json',))
        res = load_exclip_results(out)
        assert [r.image_id for r in res] == ids
        check_skipped('exclip index.json', skipped_in(idx), skipped)
        # join back: the first pair equals the explanation of its file computed here from its path alone
        from clip_explain.exclip import exclip
        clip = W.clip(model.key)
        mine = exclip(clip, 'a photo of something', src/ids[0], N=2)
        assert mine.matrix.shape == res[0].matrix.shape, (tuple(mine.matrix.shape), tuple(res[0].matrix.shape))
        err = float((mine.matrix - res[0].matrix).abs().max()/mine.matrix.abs().max())
        assert err < 1e-4, f"{ids[0]}: the saved interactions differ from the in-process ones by {err:.1e} (relative)"
        if not model.vit:                 # a ResNet: the cells of the input of layer4 (the default stage), read by a plain hook
            import torch
            got = {}
            def read(m, a): got['map'] = a[0].shape            # returns None: the input is left as it is
            h = clip.model.visual.layer4.register_forward_pre_hook(read)
            try:
                with torch.no_grad(): clip.model.encode_image(clip.pixels([str(src/ids[0])]))
            finally: h.remove()
            for r in res:
                assert r.grid == tuple(got['map'][-2:]), f"{r.image_id}: grid {r.grid}, the input of layer4 is {tuple(got['map'])}"
                assert r.config.get('image_site') == 'input of visual.layer4', r.config.get('image_site')
                assert float(r.cls.abs().max()) == 0 and abs(float(r.A.sum()) - r.total) <= 1e-5*abs(r.total) + 1e-12, \
                    f"{r.image_id}: a ResNet has no CLS token: the cell map must carry all of ΣA"
    elif cmd == 'falcon':
        from clip_explain.falcon import FalconResult
        res = FalconResult.load(out)
        assert (out/'table.txt').is_file()
        saved = {p.name: jload(p) for p in out.glob('*.json')}
        assert any(v == ids for v in saved.values()) or id_maps(saved, ids), \
            f"no FALCON output lists the probe images' ids ({sorted(saved)})"
        check_skipped('FALCON outputs', skipped_in(res.provenance), skipped)
    else: raise KeyError(cmd)

CMDS = ['info', 'tour', 'decompose', 'segment', 'ablate', 'textspan', 'neurons', 'exclip', 'falcon']

def _matrix():
    out = []
    for c in CMDS:
        for m in MODELS: out.append(pytest.param(c, m, id=f'{c}-{m}'))
        for m in SLOW_MODELS: out.append(pytest.param(c, m, id=f'{c}-{m}', marks=slow))
    return out

# ---------------------------------------------------------------------------------------------------------------------
# The fixtures themselves (read in this process): every format decodes, the bad files are named

def test_fixture_folder_decodes(W):
    "Every good file decodes to RGB at its upright size; the ignored files are not listed; the bad ones raise, naming the file."
    from clip_explain.inputs import Images, open_image, BadImageError
    from PIL import Image
    assert Images(W.good).ids == GOOD_IDS
    assert Images(W.photos).ids == sorted(GOOD_IDS + BAD_IDS)
    for i, (what, mode, size) in rf.GOOD.items():
        with Image.open(W.good/i) as raw: assert raw.mode == mode or i.endswith('_exif.jpg'), (i, raw.mode)
        im = open_image(W.good/i)
        assert im.mode == 'RGB' and im.size == size, (i, what, im.mode, im.size)
    ims = Images(W.photos, skip_bad=True)
    import warnings
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); got = [i for _, ids, _ in ims.batches(8) for i in ids]
    assert got == GOOD_IDS and sorted(ims.skipped) == BAD_IDS, (got, ims.skipped)
    for b in BAD_IDS:
        with pytest.raises(BadImageError, match=re.escape(Path(b).name)): open_image(W.photos/b)
    # modes decode to the picture they hold (independent references: the 8-bit RGB/L originals)
    import numpy as np
    px = lambda i: np.asarray(open_image(W.good/i), dtype=np.float32)
    ref = rf._photos()
    hop_l = np.asarray(Image.fromarray(ref['hopper']).convert('L'), dtype=np.float32)
    assert np.abs(px('people/grace_hopper_16bit.png')[..., 0] - hop_l).max() <= 1, "16-bit PNG not scaled to 8 bits"
    assert np.abs(px('animals/cats/chelsea_exif.jpg') - px('animals/cats/chelsea.jpg')).mean() < 4, "EXIF orientation not applied"
    assert np.abs(px('food/coffee/coffee_cmyk.jpg') - ref['coffee']).mean() < 8, "CMYK JPEG colours wrong"
    assert np.abs(px('places/china.gif') - ref['china']).mean() < 12, "GIF palette colours wrong"
    assert np.abs(px('food/coffee/coffee_rgba.png')[60:340, 110:490] - ref['coffee'][60:340, 110:490]).max() <= 1, "opaque RGBA pixels changed"

# ---------------------------------------------------------------------------------------------------------------------
# The console script itself

def test_console_script_help(W):
    "`clip-explain --help` lists every command and exits 0 (the installed script itself runs in the next test)."
    r = W.run('help', ['--help'])
    ok(r)
    for c in CMDS + ['explainr']: assert re.search(rf'\b{c}\b', r.out), f"--help does not list {c}" + r.tail()

def test_console_script_bad_folder(W):
    "The installed script on a folder with a truncated JPEG: exit 2 and one line naming the file, no traceback."
    r = W.run('script-bad-folder', ['decompose', *W.model['openclip-file'].args, '--images', W.photos, '--bs', 4,
                                    '--out', W.out/'script-bad.safetensors'], exec_=True)
    user_error(r, *BAD_NAMES)

# ---------------------------------------------------------------------------------------------------------------------
# Every command on every model, on the good folder

@pytest.mark.parametrize('cmd,model', _matrix())
def test_command(W, cmd, model):
    "Exit 0, the outputs exist, and read back with the library they hold one result per image keyed by its relative path."
    m = W.model[model]
    out = W.out/f'{cmd}-{model}'; out.mkdir()
    extra = ['--no-figures'] if cmd == 'exclip' and model not in FIGURES else []
    full_tour = SLOW and model not in SLOW_MODELS           # the full tour with the small models, under the slow flag
    r = W.run(f'{cmd}-{model}', [*_args(cmd, W, W.good, out, full_tour), *m.args, *extra])
    if not m.vit and cmd in VIT_ONLY:                 # a ResNet: said in one line, not a traceback
        user_error(r, 'ViT'); return
    ok(r)
    _check(cmd, W, m, out, r, GOOD_IDS, [], W.good)

# ---------------------------------------------------------------------------------------------------------------------
# --skip-bad: the folder with the truncated JPEG and the text file succeeds, and the outputs list both

SKIP_CMDS = ['decompose', 'segment', 'ablate', 'textspan', 'neurons', 'exclip', 'falcon']

@pytest.mark.parametrize('cmd', SKIP_CMDS)
def test_skip_bad(W, cmd):
    m = W.model['openclip-file']
    out = W.out/f'skip-{cmd}'; out.mkdir()
    r = W.run(f'skip-{cmd}', [*_args(cmd, W, W.photos, out), *m.args, '--skip-bad'])
    ok(r)
    assert all(n in r.err for n in BAD_NAMES), "no warning names each skipped file" + r.tail()
    _check(cmd, W, m, out, r, GOOD_IDS, BAD_IDS, W.photos)

def test_skip_bad_exclip_pairs(W):
    "exCLIP on the user's captions file ({relative path: [captions]}) that also lists the broken files."
    m = W.model['openclip-file']; out = W.out/'skip-exclip-pairs'
    r = W.run('skip-exclip-pairs', ['exclip', *m.args, '--pairs', W.texts['pairs_all'], '--images', W.photos, '--N', 2,
                                    '--bs', 4, '--no-figures', '--quiet', '--out', out, '--skip-bad'])
    ok(r)
    idx = jload(out/'index.json')
    assert [p['id'] for p in idx['pairs']] == GOOD_IDS, [p['id'] for p in idx['pairs']]
    for p in idx['pairs']: assert named_after(p['interactions'], p['id'], '.json') and (out/p['interactions']).is_file(), p
    check_skipped('exclip index.json', skipped_in(idx), BAD_IDS)

# ---------------------------------------------------------------------------------------------------------------------
# EXPLAIN-R on the user's folder with the user's captions: caption | concepts | train | explain

def _explainr_base(W, which:str='good')->Path:
    "caption + concepts (no model needed) into a working folder; returns it."
    d = W.out/f'explainr-{which}-base'
    caps = W.texts['captions'] if which == 'good' else W.texts['captions_all']     # the broken files have captions too
    sb = ['--skip-bad'] if which == 'photos' else []
    ok(W.run(f'explainr-caption-{which}', ['explainr', 'caption', '--images', W.src(which), '--captions', caps, '--out', d, *sb]))
    ok(W.run(f'explainr-concepts-{which}', ['explainr', 'concepts', '--out', d, '--min-count', 2, '--max-frac', 0.9, *sb]))
    return d

def test_explainr_caption(W):
    "Imported captions: one entry per image, keyed by its relative path."
    from clip_explain.explainr import load_captions
    d = _explainr_base(W)
    caps = load_captions(d/'captions.json')
    assert sorted(caps) == GOOD_IDS and caps == rf.captions_for(GOOD_IDS), sorted(caps)[:3]

def test_explainr_concepts(W):
    "Concepts of a user's folder: a real-language tagger (not the shapes lexicon), one row per image id."
    from clip_explain.explainr import load_concepts
    d = _explainr_base(W)
    cv = load_concepts(d/'encoding.safetensors')
    assert cv.ids == GOOD_IDS or sorted(cv.ids) == GOOD_IDS, cv.ids[:3]
    r = W.run.runs['explainr-concepts-good']
    m = re.search(r'tagger: (\S+)', r.out)
    assert m and m.group(1) != 'shapes', "the concept tagger on a photo folder must be a real-language one" + r.tail()
    lemmas = {c.lemma for c in cv.vocab}
    assert {'cat', 'coffee', 'temple', 'woman'} <= lemmas, sorted(lemmas)     # words of two or more images' captions

def _explainr_model_dir(W, model:str, which:str='good')->Path:
    d = W.out/f'explainr-{which}-{model}'
    if not d.exists(): shutil.copytree(_explainr_base(W, which), d)
    return d

def _explainr_train(W, model:str, which:str='good', extra=())->tuple:
    d = _explainr_model_dir(W, model, which)
    r = W.run(f'explainr-train-{which}-{model}', ['explainr', 'train', *W.model[model].args, '--out', d, '--epochs', 2,
                                                  '--val', 'captions', '--bs', 4, *extra])
    return r, d

def _explainr_explain(W, model:str, which:str='good', extra=())->tuple:
    d = _explainr_model_dir(W, model, which)
    r = W.run(f'explainr-explain-{which}-{model}', ['explainr', 'explain', *W.model[model].args, '--out', d,
                                                    '--id', 'animals/cats/chelsea.jpg', '--k', 3, *extra])
    return r, d

def _explainr_params():
    return [pytest.param(m, id=m) for m in MODELS] + [pytest.param(m, id=m, marks=slow) for m in SLOW_MODELS]

@pytest.mark.parametrize('model', _explainr_params())
def test_explainr_train(W, model):
    from clip_explain.explainr import read_surrogate_meta
    r, d = _explainr_train(W, model)
    ok(r)
    meta = read_surrogate_meta(d/'ckpts'/'best.safetensors')
    assert int(meta['n_train']) == len(GOOD_IDS), meta.get('n_train')
    assert not json.loads(meta['skipped']) if isinstance(meta['skipped'], str) else not meta['skipped']
    check_png(d/'loss.png')

@pytest.mark.parametrize('model', _explainr_params())
def test_explainr_explain(W, model):
    r0, d = _explainr_train(W, model)
    ok(r0)
    r, d = _explainr_explain(W, model)
    ok(r)
    idx = jload(d/'explain'/'index.json')
    assert idx.get('animals/cats/chelsea.jpg') == 'animals__cats__chelsea.jpg.png', idx
    check_png(d/'explain'/'animals__cats__chelsea.jpg.png')
    with open(d/'concept_scores.csv', newline='') as f: rows = list(csv.DictReader(f))
    assert sorted({r['id'] for r in rows}) == GOOD_IDS, "concept_scores.csv does not cover every image by its id"

def test_explainr_skip_bad(W):
    "The folder with the broken files and captions for all of them: every step succeeds with --skip-bad; the skipped files are recorded."
    r, d = _explainr_train(W, 'openclip-file', 'photos', ['--skip-bad'])
    ok(r)
    r2, d = _explainr_explain(W, 'openclip-file', 'photos', ['--skip-bad'])
    ok(r2)
    outs = {p.name: jload(p) for p in d.glob('*.json')}
    if 'skipped.json' in outs: outs['skipped.json'] = {'skipped': outs['skipped.json']}     # the working folder's record {id: …}
    check_skipped(f'explainr working folder ({sorted(outs)})', skipped_in(outs), BAD_IDS)
    with open(d/'concept_scores.csv', newline='') as f: rows = list(csv.DictReader(f))
    assert sorted({r['id'] for r in rows}) == GOOD_IDS

# ---------------------------------------------------------------------------------------------------------------------
# A user's mistakes: exit 2 and one line naming the culprit

def _bad_runs(W)->dict:
    "name → (argv, names the error line must contain one of)."
    vit, t, good, photos = W.model['openclip-file'], W.texts, W.good, W.photos
    miss = W.root/'no-such-folder'
    o = lambda k: W.out/f'err-{k}'
    runs = {}
    for c in SKIP_CMDS:
        runs[f'bad-image-{c}'] = ([*_args(c, W, photos, o(f'bad-{c}')), *vit.args], BAD_NAMES)
        runs[f'missing-folder-{c}'] = ([*_args(c, W, miss, o(f'miss-{c}')), *vit.args], ('no-such-folder',))
    nargs = lambda **kw: ['neurons', *vit.args, '--images', kw.get('images', good), '--bs', 4, '--bank', t['bank'], '--m', 4,
                          '--top-k', 4, '--no-indirect', '--out', o('neurons-sub'), *kw.get('extra', [])]
    runs['bad-image-neurons-segment'] = (nargs(extra=['--segment', photos]), BAD_NAMES)
    runs['bad-image-neurons-concepts'] = (nargs(extra=['--concepts', photos]), BAD_NAMES)
    runs['bad-image-neurons-ablation'] = (nargs(extra=['--ablation', photos]), BAD_NAMES)
    runs['bad-image-exclip-pairs'] = (['exclip', *vit.args, '--pairs', t['pairs_all'], '--images', photos, '--N', 2, '--quiet',
                                       '--no-figures', '--out', o('exclip-pairs')], BAD_NAMES)
    runs['bad-image-exclip-one'] = (['exclip', *vit.args, '--image', photos/BAD_IDS[0], '--caption', 'a cup of coffee',
                                     '--out', o('exclip-one')], BAD_NAMES)
    runs['missing-folder-explainr'] = (['explainr', 'caption', '--images', miss, '--captions', t['captions'], '--out', o('exr-miss')],
                                       ('no-such-folder',))
    runs['missing-captions-explainr'] = (['explainr', 'caption', '--images', good, '--captions', W.root/'no-such-captions.json',
                                          '--out', o('exr-miss-caps')], ('no-such-captions.json',))
    # checkpoints and models that are not there
    ck = ['--model', W.models['vit_json'], '--pretrained', W.root/'no-such-weights.pt']
    for c in CMDS:
        if c != 'info' and c != 'tour': runs[f'missing-checkpoint-{c}'] = ([*_args(c, W, good, o(f'ck-{c}')), *ck], ('no-such-weights.pt',))
    runs['missing-checkpoint-info'] = (['info', *ck], ('no-such-weights.pt',))
    runs['missing-checkpoint-tour'] = (['tour', '--out', o('ck-tour'), '--only', 'model', *ck], ('no-such-weights.pt',))
    runs['missing-hf-folder'] = (['decompose', '--model', W.root/'no-such-hf-folder', '--images', good, '--out', o('hf.st')], ('no-such-hf-folder',))
    runs['missing-config-json'] = (['decompose', '--model', W.root/'no-such-arch.json', '--pretrained', W.models['vit_pt'],
                                    '--images', good, '--out', o('cfg.st')], ('no-such-arch.json',))
    runs['unknown-model'] = (['info', '--model', 'no-such-model'], ('no-such-model',))
    # bad option values
    for c in SKIP_CMDS:
        runs[f'bad-option-{c}-bs0'] = ([*_args(c, W, good, o(f'bs0-{c}')), *vit.args, '--bs', 0], ('bs', 'batch size'))
    runs['bad-option-decompose-ln-mode'] = (['decompose', *vit.args, '--images', good, '--ln-mode', 'nonsense'], ('ln-mode', 'nonsense'))
    runs['bad-option-decompose-layers'] = (['decompose', *vit.args, '--images', good, '--layers', 7, '--out', o('l7.st')], ('7',))
    runs['bad-option-textspan-layers'] = ([*_args('textspan', W, good, o('ts-l9')), *vit.args, '--layers', 9], ('9',))
    runs['bad-option-textspan-m'] = ([*_args('textspan', W, good, o('ts-m')), *vit.args, '--m', 999], ('999',))
    runs['bad-option-neurons-layer'] = (nargs(extra=['--layer', 9]), ('9',))
    runs['bad-option-neurons-bank'] = (['neurons', *vit.args, '--images', good, '--bank', W.root/'no-such-bank.txt', '--out', o('nb')],
                                       ('no-such-bank.txt',))
    runs['bad-option-segment-classes'] = (['segment', *vit.args, '--images', good, '--classes', W.root/'no-such-prompts.txt',
                                           '--out', o('sc')], ('no-such-prompts.txt',))
    runs['bad-option-ablate-templates'] = (['ablate', *vit.args, '--images', good, '--templates', W.root/'no-such-templates.txt',
                                            '--out', o('at')], ('no-such-templates.txt',))
    runs['bad-option-exclip-N'] = ([*_args('exclip', W, good, o('xn')), *vit.args, '--N', 0], ())
    runs['bad-option-exclip-image'] = (['exclip', *vit.args, '--image', W.root/'no-such-image.jpg', '--caption', 'x', '--out', o('xi')],
                                       ('no-such-image.jpg',))
    runs['bad-option-exclip-pairs'] = (['exclip', *vit.args, '--pairs', W.root/'no-such-pairs.json', '--out', o('xp')], ('no-such-pairs.json',))
    runs['bad-option-falcon-target'] = ([*_args('falcon', W, good, o('ft')), *vit.args, '--target', 'torchvision:nonsense'], ('nonsense',))
    runs['bad-option-falcon-vocab'] = (['falcon', *vit.args, '--images', good, '--vocab', W.root/'no-such-vocab.txt', '--out', o('fv')],
                                       ('no-such-vocab.txt',))
    runs['bad-option-falcon-min-size'] = ([*_args('falcon', W, good, o('fm')), *vit.args, '--min-size', 0], ('min',))
    runs['bad-option-explainr-shapes-captioner'] = (['explainr', 'caption', '--images', good, '--captioner', 'shapes', '--out', o('esc')], ())
    runs['bad-option-explainr-captioner'] = (['explainr', 'caption', '--images', good, '--captioner', 'nonsense', '--out', o('ecn')], ('nonsense',))
    runs['bad-option-device'] = (['decompose', *vit.args, '--images', good, '--device', 'cuda', '--out', o('dev.st')], ('cuda',))
    return runs

BAD_KEYS = (['bad-image-' + c for c in SKIP_CMDS] + ['bad-image-neurons-segment', 'bad-image-neurons-concepts',
            'bad-image-neurons-ablation', 'bad-image-exclip-pairs', 'bad-image-exclip-one'] +
            ['missing-folder-' + c for c in SKIP_CMDS] + ['missing-folder-explainr', 'missing-captions-explainr'] +
            ['missing-checkpoint-' + c for c in CMDS] + ['missing-hf-folder', 'missing-config-json', 'unknown-model'] +
            [f'bad-option-{c}-bs0' for c in SKIP_CMDS] +
            ['bad-option-decompose-ln-mode', 'bad-option-decompose-layers', 'bad-option-textspan-layers', 'bad-option-textspan-m',
             'bad-option-neurons-layer', 'bad-option-neurons-bank', 'bad-option-segment-classes', 'bad-option-ablate-templates',
             'bad-option-exclip-N', 'bad-option-exclip-image', 'bad-option-exclip-pairs', 'bad-option-falcon-target',
             'bad-option-falcon-vocab', 'bad-option-falcon-min-size', 'bad-option-explainr-shapes-captioner',
             'bad-option-explainr-captioner', 'bad-option-device'])

@pytest.mark.parametrize('key', BAD_KEYS)
def test_user_mistake(W, key):
    if key == 'bad-option-device':
        import torch
        if torch.cuda.is_available(): pytest.skip("a GPU is visible: --device cuda is not a mistake here")
    argv, names = _bad_runs(W)[key]
    user_error(W.run(key, argv), *names)

def test_user_mistake_explainr_bad_image(W):
    "EXPLAIN-R on the folder with the broken files, without --skip-bad: the first step that reads pixels stops with exit 2 naming one."
    d = W.out/'explainr-bad'
    steps = [('caption', ['--images', W.photos, '--captions', W.texts['captions_all']]),
             ('concepts', ['--min-count', 2, '--max-frac', 0.9]),
             ('train', [*W.model['openclip-file'].args, '--epochs', 2, '--val', 'captions', '--bs', 4])]
    for step, a in steps:
        r = W.run(f'explainr-bad-{step}', ['explainr', step, '--out', d, *a])
        if r.rc != 0: break
    assert r.rc != 0, "explainr train read the broken images without --skip-bad and succeeded" + r.tail()
    user_error(r, *BAD_NAMES)

def test_user_mistake_explainr_unknown_id(W):
    r0, d = _explainr_train(W, 'openclip-file'); ok(r0)
    r = W.run('explainr-explain-unknown-id', ['explainr', 'explain', *W.model['openclip-file'].args, '--out', d, '--id', 'no/such.jpg'])
    user_error(r, 'no/such.jpg')

def test_user_mistake_explainr_missing_checkpoint(W):
    d = _explainr_model_dir(W, 'missing-checkpoint')
    r = W.run('explainr-train-missing-checkpoint', ['explainr', 'train', '--model', W.models['vit_json'], '--pretrained',
                                                    W.root/'no-such-weights.pt', '--out', d, '--epochs', 2, '--val', 'captions'])
    user_error(r, 'no-such-weights.pt')

N_CMDS = ['decompose', 'segment', 'ablate', 'textspan', 'neurons', 'falcon', 'explainr']

@pytest.mark.parametrize('cmd', N_CMDS)
def test_no_silent_cap(W, cmd):
    "`--n 2` with `--images DIR`: every image of the folder is processed (--n is for the shapes world), or one line refuses the mix."
    m, out = W.model['openclip-file'], W.out/f'cap-{cmd}'
    src = W.good if cmd == 'ablate' else W.good/'animals'                  # ablate needs two class sub-folders
    ids = GOOD_IDS if cmd == 'ablate' else _sub(GOOD_IDS, 'animals')
    if cmd == 'explainr':
        caps = out.parent/'cap-captions.json'; caps.write_text(json.dumps(rf.captions_for(ids)))
        argv = ['explainr', 'caption', '--images', src, '--captions', caps, '--out', out]
    elif cmd == 'neurons':
        argv = ['neurons', *m.args, '--images', src, '--bs', 4, '--bank', W.texts['bank'], '--m', 4, '--top-k', 2, '--out', out]
    else:
        out.mkdir(); argv = [*_args(cmd, W, src, out), *m.args]
    r = W.run(f'cap-{cmd}', [*argv, '--n', 2])
    if r.rc != 0:
        user_error(r, '--n'); return
    if cmd == 'decompose':
        from clip_explain.decompose import Decomposition
        got = Decomposition.load(out/'decomposition.safetensors').ids
    elif cmd == 'segment':
        maps = id_maps(jload(out/'index.json'), ids)
        got = list(maps[0]) if maps else ["(index.json maps other ids)"]
    elif cmd == 'ablate': got = jload(out/'ablation.json')['ids']
    elif cmd == 'textspan': got = jload(out/'textspan.json')['provenance'].get('ids')
    elif cmd == 'neurons': got = jload(out/'images.json')['ids']
    elif cmd == 'falcon': got = jload(out/'ids.json')
    else: got = sorted(jload(out/'captions.json'))
    assert sorted(got) == sorted(ids), f"{cmd} --images with --n 2 processed {got}, not the folder's {len(ids)} images"

def test_decompose_out_in_new_folder(W):
    "`--out results/run1/decomposition.safetensors` where results/ does not exist yet: written (or one line saying so), no traceback."
    p = W.out/'new-folder'/'run1'/'decomposition.safetensors'
    r = W.run('decompose-out-new-folder', ['decompose', *W.model['openclip-file'].args, '--images', W.good/'animals', '--out', p])
    if r.rc == 0: assert p.is_file(), "exit 0 but no output file" + r.tail()
    else: user_error(r, 'new-folder')

# ---------------------------------------------------------------------------------------------------------------------
# clip-explain bench (issue #14): the table of every method against its randomised control and chance

@pytest.mark.parametrize('model', ['bundled', 'openclip-file'])
def test_bench(W, model):
    "`bench` (one part, two seeds, small): exit 0, bench.md/.json/.png, one row per metric with the seeds' spread; the bundled model beats its control."
    out = W.out/f'bench-{model}'
    m = [] if model == 'bundled' else W.model[model].args
    r = W.run(f'bench-{model}', ['bench', *m, '--seed', 0, '--seed', 1, '--only', 'segmentation', '--scale', 0.5,
                                 '--device', 'cpu', '--out', out])
    ok(r)
    for f in ('bench.md', 'bench.json', 'bench.png'): assert (out/f).is_file() and (out/f).stat().st_size > 0, f"no {f}" + r.tail()
    j = jload(out/'bench.json')
    assert j['seeds'] == [0, 1] and len(j['rows']) == 1, j
    row = j['rows'][0]
    assert {'method', 'metric', 'score', 'control', 'chance', 'n', 'score_sd', 'control_sd'} <= set(row), row
    assert all(0 <= row[k] <= 1 for k in ('score', 'control', 'chance')), row
    assert row['metric'] in (out/'bench.md').read_text(encoding='utf-8')
    if model == 'bundled': assert row['score'] > row['control'] + 0.1, row      # segmentation mIoU: trained vs random weights

def test_bench_bad_args(W):
    "`bench` with a seed that is not a number, or an --out that is a file: exit 2 and one line."
    user_error(W.run('bench-bad-seed', ['bench', '--seed', 'one', '--out', W.out/'bench-bad']), '--seed')
    f = W.out/'bench-file.txt'; f.write_text('x')
    user_error(W.run('bench-out-file', ['bench', '--only', 'segmentation', '--out', f]), 'bench-file.txt')
