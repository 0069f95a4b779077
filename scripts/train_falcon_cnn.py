"Retrain the shipped FALCON target (a small CNN on the shapes world) and export it to your user folder, or --dest (600 steps: the shipped run took 1,537 s, about 26 minutes, on CPU; see its meta file)."
import argparse, json, torch
from clip_explain.zoo import train_shapes_cnn, export_shapes_cnn, SHAPES_CNN_NAME

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--steps', type=int, default=600)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--sparsity', type=float, default=0.05)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch decides)')
    p.add_argument('--name', default=SHAPES_CNN_NAME)
    p.add_argument('--dest', default=None, help="output folder (default: ~/.cache/clip_explain/models, or $CLIP_EXPLAIN_HOME/models)")
    p.add_argument('--overwrite-shipped', action='store_true', help="write into the package's shipped assets (release step only)")
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    model, rec = train_shapes_cnn(steps=a.steps, bs=a.bs, sparsity=a.sparsity, seed=a.seed, log=lambda s: print(s, flush=True))
    print('wrote', export_shapes_cnn(model, rec, name=a.name, dest=a.dest, overwrite_shipped=a.overwrite_shipped))
