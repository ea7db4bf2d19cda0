#!/usr/bin/env python3
"""The accuracy runs of bench/accuracy.js, in PyTorch: the same two reference models with Keras'
defaults (Glorot-uniform kernels, zero biases, Adam lr 0.001 eps 1e-7, batch 32, reshuffled every
epoch, pixels / 255), scored on the test set after every epoch. A reference for what the models
reach, independent of our code.

Usage: /usr/bin/python3 bench/accuracy_pytorch.py [--model seed|convnet] [--epochs N]
         [--seeds 1,2,3] [--data DIR] [--threads N]
Writes bench/out/accuracy-pytorch-<model>-<epochs>.json.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn


def load_idx(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, stem):
    for name in (stem, stem + '.gz'):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise FileNotFoundError(f'{stem}[.gz] not in {d}')


def model_of(name):
    if name == 'seed':
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 13 * 13, 10)]
    else:
        layers = [nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10)]
    m = nn.Sequential(*layers)
    for layer in m:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)  # Keras' glorot_uniform: same fans for conv and dense
            nn.init.zeros_(layer.bias)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='seed', choices=['seed', 'convnet'])
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--seeds', default='1,2,3')
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--batch-size', type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    def images(stem):
        return torch.from_numpy(load_idx(find(a.data, stem)).astype(np.float32) / 255.0).unsqueeze(1)

    def labels(stem):
        return torch.from_numpy(load_idx(find(a.data, stem)).astype(np.int64))

    xtr, ytr = images('train-images-idx3-ubyte'), labels('train-labels-idx1-ubyte')
    xte, yte = images('t10k-images-idx3-ubyte'), labels('t10k-labels-idx1-ubyte')
    print(f'pytorch {torch.__version__} {a.model}: {a.epochs} epochs, batch {a.batch_size}, seeds {a.seeds}, '
          f'{a.threads} threads, data {a.data}', flush=True)
    runs = []
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out', f'accuracy-pytorch-{a.model}-{a.epochs}.json')
    for seed in [int(s) for s in a.seeds.split(',')]:
        torch.manual_seed(seed)
        m = model_of(a.model)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = nn.CrossEntropyLoss()
        curve, t0, train_s = [], time.time(), 0.0
        for epoch in range(a.epochs):
            e0 = time.time()
            m.train()
            perm = torch.randperm(xtr.shape[0])
            total, n = 0.0, 0
            for i in range(0, xtr.shape[0], a.batch_size):
                idx = perm[i:i + a.batch_size]
                opt.zero_grad()
                loss = loss_fn(m(xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                n += len(idx)
            train_s += time.time() - e0
            m.eval()
            with torch.no_grad():
                pred = torch.cat([m(xte[i:i + 1000]).argmax(1) for i in range(0, xte.shape[0], 1000)])
            acc = (pred == yte).float().mean().item()
            curve.append({'epoch': epoch + 1, 'loss': total / n, 'testAcc': acc})
            print(f'  seed {seed} epoch {epoch + 1}: loss {total / n:.4f} test acc {acc:.4f}', flush=True)
        runs.append({'seed': seed, 'final': curve[-1]['testAcc'], 'trainSeconds': train_s,
                     'wallSeconds': time.time() - t0, 'curve': curve})
        print(f'seed {seed}: test accuracy after {a.epochs} epochs {curve[-1]["testAcc"]:.4f} ({train_s:.0f} s)', flush=True)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, 'w') as f:
            json.dump({'framework': f'pytorch {torch.__version__}', 'model': a.model, 'epochs': a.epochs,
                       'batchSize': a.batch_size, 'threads': a.threads, 'runs': runs}, f, indent=1)
    finals = [r['final'] for r in runs]
    print(f'\n{a.model} after {a.epochs} epochs: mean {sum(finals) / len(finals):.4f}, min {min(finals):.4f}, '
          f'max {max(finals):.4f} over {len(finals)} seeds ({out})')


if __name__ == '__main__':
    main()
