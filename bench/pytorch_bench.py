#!/usr/bin/env python3
"""PyTorch CPU contender for bench/run.js: the same two models in NCHW, layer for layer (see
bench/lib/models.js), the same modes and the same one-line result as the Node workers.

  python3 bench/pytorch_bench.py --model seed|convnet|resnet20 --mode train|infer --batch B --threads N
                                 [--warmup-ms MS --warmup-steps S --measure-ms MS --min-steps S]
                                 [--autocast bf16]

--autocast bf16 runs forward and loss under torch.autocast('cpu', dtype=torch.bfloat16) (mixed
precision: bf16 convolutions and matmuls, fp32 weights, gradients and optimizer state).

train: images/s of one Adam step (zero_grad, forward, cross-entropy, backward, step, loss.item());
infer: images/s of a no-grad forward in eval mode. Prints "BENCH_RESULT {json}" on stdout.
"""
import json
import resource
import statistics
import sys
import time


def parse_args(argv):
    o, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith('--'):
            key = a[2:]
            if i + 1 < len(argv) and not argv[i + 1].startswith('--'):
                v = argv[i + 1]
                try:
                    v = float(v) if '.' in v else int(v)
                except ValueError:
                    pass
                o[key] = v
                i += 1
            else:
                o[key] = True
        i += 1
    return o


def rss_mb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def emit(result):
    result['maxRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    sys.stdout.write('BENCH_RESULT ' + json.dumps(result) + '\n')
    sys.stdout.flush()


def build(torch, name):
    nn = torch.nn
    if name == 'seed':  # Conv2D(32, 3x3, valid, relu) -> MaxPool 2 -> Flatten -> Dense(10, softmax)
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 13 * 13, 10))
    if name == 'convnet':  # 2 x (Conv2D 5x5 same, relu, MaxPool 2) -> Dense 1024 relu -> Dense 10
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10))
    if name == 'resnet20':  # bench/lib/models.js resnet20: 3 stages x 3 residual blocks, batch norm, GAP
        return resnet20(torch)
    raise ValueError('unknown model ' + name)


INPUTS = {'seed': (1, 28, 28), 'convnet': (1, 28, 28), 'resnet20': (3, 32, 32)}


def resnet20(torch, blocks=3, width=16, classes=10):
    nn = torch.nn

    class Block(nn.Module):
        # conv3x3-bn-relu-conv3x3-bn + shortcut (identity, or 1x1 stride-2 conv + bn), relu
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            r = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
            return torch.relu(r + (x if self.short is None else self.short(x)))

    layers = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for s in range(3):
        cout = width * 2 ** s
        for b in range(blocks):
            layers.append(Block(cin, cout, 2 if s > 0 and b == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def time_steps(step, warmup_ms=300, warmup_steps=2, measure_ms=1500, min_steps=3):
    t0 = time.perf_counter()
    i = 0
    while i < warmup_steps or (time.perf_counter() - t0) * 1000 < warmup_ms:
        step()
        i += 1
    times = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    while len(times) < min_steps or (time.perf_counter() - t0) * 1000 < measure_ms:
        s = time.perf_counter()
        step()
        times.append((time.perf_counter() - s) * 1000)
    cpu = (time.process_time() - c0) * 1000 / len(times)
    return times, cpu


def main():
    o = parse_args(sys.argv[1:])
    rss0 = rss_mb()
    import torch
    import torch.nn.functional as F
    threads = int(o.get('threads', 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    B = int(o['batch'])
    model = build(torch, o['model'])
    # Keras' Adam defaults (epsilon 1e-7), like the other contenders
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    rss_base = rss_mb()
    timing = {}
    for k, name in (('warmup-ms', 'warmup_ms'), ('warmup-steps', 'warmup_steps'),
                    ('measure-ms', 'measure_ms'), ('min-steps', 'min_steps')):
        if k in o:
            timing[name] = o[k]
    g = torch.Generator().manual_seed(1)
    x = torch.rand(B, *INPUTS[o['model']], generator=g)
    autocast = o.get('autocast')
    if autocast not in (None, 'bf16'):
        raise ValueError('--autocast must be bf16, received ' + str(autocast))
    info = {'backend': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(),
            'mkldnn': torch.backends.mkldnn.is_available(), 'rssStartMB': rss0, 'rssModelMB': rss_base,
            'dtype': 'autocast_bf16' if autocast else 'float32'}

    def forward():
        if autocast:
            with torch.autocast('cpu', dtype=torch.bfloat16):
                return model(x)
        return model(x)

    if o['mode'] == 'train':
        y = torch.randint(0, 10, (B,), generator=g)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            if autocast:
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    loss = F.cross_entropy(model(x), y)
            else:
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
    elif o['mode'] == 'infer':
        model.eval()

        def step():
            with torch.no_grad():
                return F.softmax(forward().float(), dim=1)
    else:
        raise ValueError('unknown mode ' + str(o['mode']))
    times, cpu = time_steps(step, **timing)
    med = statistics.median(times)
    return {**info, 'steps': len(times), 'stepMsMedian': med, 'stepMsMin': min(times),
            'imagesPerSec': B * 1000 / med, 'cpuMsPerStep': cpu}


if __name__ == '__main__':
    try:
        emit({'ok': True, **main()})
    except Exception as e:  # noqa: BLE001 - reported to the runner
        emit({'ok': False, 'error': repr(e)})
        sys.exit(1)
