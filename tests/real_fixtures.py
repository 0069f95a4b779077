"""Fixtures of the real-path acceptance suite (`tests/test_real_paths.py`): a user's photo folder in every format, a user's
own checkpoints (a tiny random open_clip architecture saved to files, a tiny random Hugging Face CLIP folder, a non-ViT
model), the text files a user writes (captions, a text bank, class prompts), and a fork server that runs `clip-explain`
commands in fresh processes without paying the 5-15 s import of torch/open_clip/transformers for each one.

Everything is built from files that ship inside installed wheels (scikit-image, scikit-learn, matplotlib): no network.
Run `python tests/real_fixtures.py DIR` to build the fixtures into DIR and look at them.
"""
from __future__ import annotations
import io, json, os, shutil, sys, time
from pathlib import Path

import numpy as np
from PIL import Image

# ---------------------------------------------------------------------------------------------------------------------
# Photographs

def _photos()->dict:
    "The real photographs shipped inside installed wheels, as uint8 RGB arrays."
    import skimage.data as sd
    from sklearn.datasets import load_sample_images
    import matplotlib.cbook as cbook
    s = load_sample_images()
    sk = dict(zip([Path(f).stem for f in s.filenames], s.images))
    with cbook.get_sample_data('grace_hopper.jpg') as f: hopper = np.asarray(Image.open(f).convert('RGB'))
    return dict(chelsea=sd.chelsea(), coffee=sd.coffee(), astronaut=sd.astronaut(), rocket=sd.rocket(),
                motorcycle=sd.stereo_motorcycle()[0], china=sk['china'], flower=sk['flower'], hopper=hopper)

# relative path → (what it is, the PIL mode a decoder sees, (width, height) after EXIF orientation)
# The first sub-folder is the class (ablate/textspan --accuracy/neurons --ablation need class sub-folders).
GOOD = {
    'animals/cats/chelsea.jpg':            ('JPEG, RGB',                           'RGB',    (451, 300)),
    'animals/cats/chelsea_exif.jpg':       ('JPEG stored rotated, EXIF orientation 6', 'RGB', (451, 300)),
    'animals/cats/chelsea_grey.png':       ('PNG, greyscale (L)',                  'L',      (451, 300)),
    'animals/cats/tiny_5x7.png':           ('PNG, a 5x7 image',                    'RGB',    (5, 7)),
    'food/coffee/coffee.bmp':              ('BMP',                                 'RGB',    (600, 400)),
    'food/coffee/coffee_cmyk.jpg':         ('JPEG, CMYK',                          'CMYK',   (600, 400)),
    'food/coffee/coffee_rgba.png':         ('PNG, RGBA with transparency',         'RGBA',   (600, 400)),
    'people/astronaut.webp':               ('WebP',                                'RGB',    (512, 512)),
    'people/astronaut_large.jpg':          ('JPEG, 6000x4000',                     'RGB',    (6000, 4000)),
    'people/grace_hopper.tif':             ('TIFF',                                'RGB',    (512, 600)),
    'people/grace_hopper_16bit.png':       ('PNG, 16-bit greyscale',               'I;16',   (512, 600)),
    'places/china.gif':                    ('GIF, palette',                        'P',      (640, 427)),
    'places/china_palette_alpha.png':      ('PNG, palette with a transparent index', 'P',    (640, 427)),
    'places/flower.jpg':                   ('JPEG, RGB',                           'RGB',    (640, 427)),
    'places/Été à Paris/flower in the park (1).jpg': ('JPEG, a folder and name with spaces, accents, brackets', 'RGB', (427, 640)),
    'vehicles/motorcycle.png':             ('PNG, RGB',                            'RGB',    (741, 500)),
    'vehicles/rocket.jpg':                 ('JPEG, RGB',                           'RGB',    (640, 427)),
}
BAD = {
    'food/coffee/broken.jpg':  'a truncated JPEG (the first 40% of a real one)',
    'vehicles/notes.jpg':      'a text file with an image extension',
}
CLASSES = ['animals', 'food', 'people', 'places', 'vehicles']       # the first sub-folders, sorted
IGNORED = ['README.txt', '.DS_Store', 'animals/.hidden.jpg']         # not images / hidden: never listed

CAPTIONS = {   # per photo: the captions a user would have for it (EXPLAIN-R needs words seen in several images)
    'chelsea': ['a cat lying on a blanket', 'a small striped cat looking at the camera', 'a tabby cat with green eyes'],
    'coffee': ['a cup of coffee on a table', 'a white cup of coffee with a spoon', 'coffee on a saucer'],
    'astronaut': ['a portrait of an astronaut', 'a woman in a space suit', 'an astronaut with a flag'],
    'hopper': ['a portrait of a woman in uniform', 'a woman in a navy uniform', 'an old portrait of a woman'],
    'china': ['a temple in a garden', 'an old temple with trees', 'a temple roof in the sun'],
    'flower': ['a red flower in a garden', 'a close view of a flower', 'a flower with green leaves'],
    'motorcycle': ['a red motorcycle in a garage', 'a motorcycle parked on the floor', 'a motorcycle with a helmet'],
    'rocket': ['a rocket on a launch pad', 'a rocket before a launch', 'a white rocket in the sun'],
}
BANK = ['a photo of a cat', 'a photo of a dog', 'a cup of coffee', 'a portrait of a person', 'an astronaut', 'a woman',
        'a temple', 'a flower', 'a garden', 'a red motorcycle', 'a rocket', 'a launch pad', 'a blanket', 'a table',
        'green leaves', 'a uniform', 'the sky', 'a car', 'a tree', 'a building', 'a face', 'stripes', 'a spoon',
        'the sun', 'a helmet', 'an old photograph', 'a colourful picture', 'a black and white photo', 'a close-up',
        'a landscape', 'text', 'a pattern']
PROMPTS = ['a photo of an animal', 'a photo of food', 'a photo of a person', 'a photo of a place', 'a photo of a vehicle']

def _source_of(rel:str)->str:
    name = Path(rel).stem
    for k in CAPTIONS:
        if name.startswith(k) or (k == 'hopper' and 'hopper' in name): return k
    if name.startswith('tiny'): return 'chelsea'
    if name.startswith('broken'): return 'coffee'
    if name.startswith('notes'): return 'rocket'
    raise KeyError(rel)

def _save(rel:str, root:Path, ph:dict):
    "Write the good image `rel` under `root` in its format and mode."
    p = root/rel; p.parent.mkdir(parents=True, exist_ok=True)
    chelsea, coffee = Image.fromarray(ph['chelsea']), Image.fromarray(ph['coffee'])
    if rel.endswith('chelsea.jpg'): chelsea.save(p, quality=90)
    elif rel.endswith('chelsea_exif.jpg'):                                # stored rotated; orientation 6 = rotate 90° CW to show
        ex = Image.Exif(); ex[0x0112] = 6
        chelsea.transpose(Image.Transpose.ROTATE_90).save(p, quality=90, exif=ex.tobytes())
    elif rel.endswith('chelsea_grey.png'): chelsea.convert('L').save(p)
    elif rel.endswith('tiny_5x7.png'): chelsea.crop((200, 60, 205, 67)).save(p)
    elif rel.endswith('coffee.bmp'): coffee.save(p)
    elif rel.endswith('coffee_cmyk.jpg'): coffee.convert('CMYK').save(p, quality=90)
    elif rel.endswith('coffee_rgba.png'):
        a = np.zeros(ph['coffee'].shape[:2], np.uint8); a[50:350, 100:500] = 255; a[:, :50] = 128   # opaque cup, see-through edges
        Image.fromarray(np.dstack([ph['coffee'], a]), 'RGBA').save(p)
    elif rel.endswith('astronaut.webp'): Image.fromarray(ph['astronaut']).save(p, quality=85)
    elif rel.endswith('astronaut_large.jpg'):
        Image.fromarray(ph['astronaut']).resize((6000, 4000), Image.BILINEAR).save(p, quality=75)
    elif rel.endswith('grace_hopper.tif'): Image.fromarray(ph['hopper']).save(p)
    elif rel.endswith('grace_hopper_16bit.png'):
        g = np.asarray(Image.fromarray(ph['hopper']).convert('L')).astype(np.uint16)*257
        Image.fromarray(g).save(p)                                          # mode I;16 → a 16-bit greyscale PNG
    elif rel.endswith('china.gif'): Image.fromarray(ph['china']).convert('P', palette=Image.Palette.ADAPTIVE).save(p)
    elif rel.endswith('china_palette_alpha.png'):
        im = Image.fromarray(ph['china']).convert('P', palette=Image.Palette.ADAPTIVE, colors=64)
        im.save(p, transparency=int(np.asarray(im)[0, 0]))               # the sky's index is see-through
    elif rel.endswith('flower.jpg'): Image.fromarray(ph['flower']).save(p, quality=90)
    elif rel.endswith('park (1).jpg'): Image.fromarray(ph['flower']).transpose(Image.Transpose.ROTATE_90).save(p, quality=90)  # portrait
    elif rel.endswith('motorcycle.png'): Image.fromarray(ph['motorcycle']).save(p)
    elif rel.endswith('rocket.jpg'): Image.fromarray(ph['rocket']).save(p, quality=90)
    else: raise KeyError(rel)

def build_folders(root:str|Path)->dict:
    "`root/photos` (good images, the two bad files, ignored files) and `root/good` (the same without the bad files)."
    root = Path(root); ph = _photos()
    good, photos = root/'good', root/'photos'
    for rel in GOOD: _save(rel, good, ph)
    for rel in IGNORED:
        q = good/rel; q.parent.mkdir(parents=True, exist_ok=True)
        q.write_bytes(b'not an image\n' if rel.endswith('.txt') else b'\x00\x05\x16\x07 resource fork junk')
    shutil.copytree(good, photos)
    b = io.BytesIO(); Image.fromarray(ph['coffee']).save(b, 'JPEG', quality=90); raw = b.getvalue()
    (photos/'food/coffee/broken.jpg').write_bytes(raw[:int(len(raw)*0.4)])
    (photos/'vehicles/notes.jpg').write_text('shopping list: milk, eggs, film for the camera\n')
    return dict(good=good, photos=photos)

def captions_for(ids)->dict:
    "{relative path: [captions]} for the images `ids` (what a user's own captions file holds)."
    return {i: CAPTIONS[_source_of(i)] for i in ids}

def build_texts(root:str|Path, ids_all)->dict:
    "The text files a user writes: captions (good images / every file), a text bank, class prompts."
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    out = dict(captions=root/'captions.json', captions_all=root/'captions_all.json', bank=root/'bank.txt', prompts=root/'prompts.txt')
    out['captions'].write_text(json.dumps(captions_for(GOOD), indent=1))
    out['captions_all'].write_text(json.dumps(captions_for(ids_all), indent=1))
    out['bank'].write_text('\n'.join(BANK) + '\n'); out['prompts'].write_text('\n'.join(PROMPTS) + '\n')
    return out

# ---------------------------------------------------------------------------------------------------------------------
# Models: files a user would point the CLI at

def tiny_resnet_config()->dict:
    "A tiny open_clip ResNet (ModifiedResNet) tower: the non-ViT case, in milliseconds."
    from clip_explain.core import tiny_open_clip_config
    c = tiny_open_clip_config(); c['vision_cfg'] = dict(layers=[1, 1, 1, 1], width=8, image_size=32)
    return c

def build_models(root:str|Path)->dict:
    "tiny-vit.json + tiny-vit.pt (open_clip, the user's own architecture), tiny-hf/ (a saved HF CLIPModel), tiny-rn.json + .pt."
    import torch, open_clip
    from clip_explain.core import tiny_open_clip_config, tiny_open_clip, tiny_hf_clip, save_hf_tokenizer
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    (root/'tiny-vit.json').write_text(json.dumps(tiny_open_clip_config()))
    torch.save(tiny_open_clip(seed=1).model.state_dict(), root/'tiny-vit.pt')
    hf = root/'tiny-hf'; tiny_hf_clip(seed=2).model.save_pretrained(hf); save_hf_tokenizer(hf)
    (root/'tiny-rn.json').write_text(json.dumps(tiny_resnet_config()))
    open_clip.add_model_config(root/'tiny-rn.json')
    torch.manual_seed(3); torch.save(open_clip.create_model('tiny-rn').state_dict(), root/'tiny-rn.pt')
    return dict(vit_json=root/'tiny-vit.json', vit_pt=root/'tiny-vit.pt', hf=hf, rn_json=root/'tiny-rn.json', rn_pt=root/'tiny-rn.pt')

def build_big_models(root:str|Path)->dict:
    "Real-size architectures with random weights in files: ViT-B-16 (the papers' model) and RN50 (not a ViT)."
    import torch, open_clip
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    out = dict(vitb16=root/'ViT-B-16-random.pt', rn50=root/'RN50-random.pt')
    for arch, p in (('ViT-B-16', out['vitb16']), ('RN50', out['rn50'])):
        if not p.exists(): torch.manual_seed(0); torch.save(open_clip.create_model(arch).state_dict(), p)
    return out

# ---------------------------------------------------------------------------------------------------------------------
# Running commands

ENV = dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg')

def cli_env()->dict:
    env = dict(os.environ, **ENV)
    for k in ('CLIP_EXPLAIN_RUN', 'CLIP_EXPLAIN_WEIGHTS', 'PYTEST_CURRENT_TEST'): env.pop(k, None)
    return env

_PRELOAD = """
import sys, os, json, traceback
import torch, open_clip, transformers, matplotlib
matplotlib.use('Agg'); import matplotlib.pyplot
from transformers import CLIPModel, CLIPTokenizer, CLIPImageProcessor
from clip_explain.cli import main, build_parser
build_parser()                                  # imports every method module, as main() does
"""

def serve():
    """The fork server: import once, then for each request line {argv, cwd, out, err, timeout} fork a child that does
    exactly what the `clip-explain` console script does (`sys.exit(main())`) with stdout/stderr going to files, and answer
    {rc, seconds}. A fork is a fresh process: nothing a command does can leak into the next one."""
    exec(_PRELOAD, globals())
    import signal, traceback
    ready = sys.stdout; print(json.dumps(dict(ready=True, pid=os.getpid())), file=ready, flush=True)
    for line in sys.stdin:
        req = json.loads(line); t0 = time.time()
        sys.stdout.flush(); sys.stderr.flush()
        pid = os.fork()
        if pid == 0:                                                  # the child: be the console script
            code = 1
            try:
                os.chdir(req['cwd'])
                fo, fe = os.open(req['out'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), os.open(req['err'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(fo, 1); os.dup2(fe, 2); os.close(fo); os.close(fe)
                sys.stdout = io.TextIOWrapper(os.fdopen(1, 'wb', buffering=0), write_through=True)
                sys.stderr = io.TextIOWrapper(os.fdopen(2, 'wb', buffering=0), write_through=True)
                sys.argv = ['clip-explain'] + req['argv']
                try: code = main()
                except SystemExit as e:
                    code = e.code
                    if isinstance(code, str): print(code, file=sys.stderr); code = 1
                except BaseException: traceback.print_exc(); code = 1
                code = 0 if code is None else int(code)
            finally:
                try: sys.stdout.flush(); sys.stderr.flush()
                except Exception: pass
                os._exit(code)
        deadline, rc = t0 + req.get('timeout', 600), None
        while rc is None:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done: rc = os.waitstatus_to_exitcode(status); break
            if time.time() > deadline:
                os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); rc = 124; break
            time.sleep(0.02)
        print(json.dumps(dict(rc=rc, seconds=round(time.time() - t0, 2))), file=ready, flush=True)

if __name__ == '__main__':
    if sys.argv[1:] == ['serve']: serve()
    else:
        d = Path(sys.argv[1] if len(sys.argv) > 1 else 'real_fixtures'); d.mkdir(parents=True, exist_ok=True)
        f = build_folders(d); print(f); print(build_texts(d/'texts', list(GOOD) + list(BAD))); print(build_models(d/'models'))
