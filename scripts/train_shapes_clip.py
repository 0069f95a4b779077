"Retrain the shapes-world CLIP and export it to your user folder (or --dest). Resumable: rerun the same command with the same --ckpt."
import argparse, json, torch
from clip_explain.zoo import train_shapes_clip, export_shapes_clip, SHAPES_CLIP_NAME, SHAPES_CLIP_CONFIGS
from clip_explain.data import WorldConfig

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--arch', default=SHAPES_CLIP_NAME, choices=list(SHAPES_CLIP_CONFIGS), help="architecture (v2: 4×4 patches, v3: 8×8)")
    p.add_argument('--steps', type=int, default=3000)
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--articles', action='store_true', help="captions with correct articles ('an orange cross'), as v3 is trained")
    p.add_argument('--name', default=None, help="exported model name (default: --arch)")
    p.add_argument("--ckpt", default=None, help="checkpoint file, written at every evaluation and resumed from when it exists")
    p.add_argument("--until", type=int, default=None, help="stop after this step (a chunk); rerun to continue")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--dest", default=None, help="output folder (default: ~/.cache/clip_explain/models, or $CLIP_EXPLAIN_HOME/models)")
    p.add_argument("--overwrite-shipped", action='store_true', help="write into the package's shipped assets (release step only)")
    a = p.parse_args()
    model, tok, rec = train_shapes_clip(steps=a.steps, bs=a.bs, seed=a.seed, cfg=WorldConfig(articles=a.articles), name=a.arch,
                                        log=lambda s: print(s, flush=True), ckpt=a.ckpt, until=a.until,
                                        eval_every=a.eval_every, threads=a.threads)
    print(json.dumps(rec['evals']))
    if rec['done']: print('wrote', export_shapes_clip(model, tok, rec, name=a.name or a.arch, dest=a.dest, overwrite_shipped=a.overwrite_shipped))
    else: print(f"stopped at step {rec['evals'][-1]['step']} of {a.steps}; rerun the same command to continue")
