"Retrain the shapes-world CLIP (about 25-50 min on 2 CPU cores) and export it to your user folder (or --dest)."
import argparse, json, torch
from clip_explain.zoo import train_shapes_clip, export_shapes_clip, SHAPES_CLIP_NAME

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--steps', type=int, default=3000)
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--name', default=SHAPES_CLIP_NAME)
    p.add_argument("--ckpt", default=None, help="save the state dict here at every evaluation")
    p.add_argument("--dest", default=None, help="output folder (default: ~/.cache/clip_explain/models, or $CLIP_EXPLAIN_HOME/models)")
    p.add_argument("--overwrite-shipped", action='store_true', help="write into the package's shipped assets (release step only)")
    a = p.parse_args()
    model, tok, rec = train_shapes_clip(steps=a.steps, bs=a.bs, seed=a.seed, log=lambda s: print(s, flush=True), ckpt=a.ckpt)
    print(json.dumps(rec['evals']))
    print('wrote', export_shapes_clip(model, tok, rec, name=a.name, dest=a.dest, overwrite_shipped=a.overwrite_shipped))
