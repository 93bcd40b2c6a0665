#!/usr/bin/env python3
"""Reads UniRL's TensorBoard event files with TensorBoard's own loader (the reader behind
`tensorboard --logdir`) and prints the scalar tags and the first points of each.

    .venv-reference/bin/pip install tensorboard
    .venv-reference/bin/python scripts/check_tensorboard_events.py runs/custom-reward
"""
import glob
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

if len(sys.argv) != 2:
    sys.exit(__doc__)
files = sorted(glob.glob(f"{sys.argv[1]}/events.out.tfevents.*"))
if not files:
    sys.exit(f"no event files in {sys.argv[1]}")
for path in files:
    acc = EventAccumulator(path)
    acc.Reload()
    tags = acc.Tags()["scalars"]
    print(f"{path}: {len(tags)} scalar tags")
    for tag in tags:
        points = acc.Scalars(tag)
        head = ", ".join(f"{p.step}:{p.value:.4g}" for p in points[:3])
        print(f"  {tag}: {len(points)} points ({head}, …)")
