// The static plan of the graph engine (network_graph.ts; the C++ twin is native/engine/graph_plan.cc):
// which tensors are views, which need gradients, which nodes run backward, and where every
// activation and gradient lives in the arena. Pure, run once per network.
//
// Liveness. Time runs over forward node j (time j), the loss (time L), backward node j (time
// 2L - j). A tensor's buffer is taken when its node runs and given back after its last use: its
// last forward reader, or the backward of a node that reads it there (a Conv2D / Dense / Multiply /
// Maximum / Minimum / Dot input, an activation's output); model outputs are kept. A gradient's
// buffer is taken at its first contribution (the loss, or the backward of its last reader) and
// given back after its producer's backward. Offsets are first-fit, in floats per sample: an arena
// for n samples places buffer b at n * off[b].
import { Act, LayerKind } from '../types';
import { activationNeedsInput } from './activations';
import { CheckedSpec, LayerInfo } from './network_spec';

export interface ArenaPlan {
  /** Floats per sample of the whole arena. */
  floats: number;
  /** Per tensor id: the offset of its (own) forward buffer, -1 when it has none. */
  off: number[];
  /** Per tensor id: the offset of its gradient buffer (roots only), -1 when none. */
  gradOff: number[];
  /** The gradient-sum scratch (maxAct floats), -1 when there is no backward. */
  scratchOff: number;
}

export interface GraphPlan {
  nT: number;
  /** Floats per sample per tensor. */
  size: number[];
  /** Per tensor: the nodes reading it (a node reading it twice is listed twice). */
  readers: number[][];
  /** Per tensor: the tensor owning its training buffer (itself, a view's source, a model input). */
  storageOf: number[];
  /** Per tensor: the tensor whose gradient buffer holds its gradient (views share their source's). */
  gradRoot: number[];
  needGrad: boolean[];
  runBack: boolean[];
  /** Per node: some parameter range of it is used by another node too. */
  shared: boolean[];
  maxAct: number;
  train: ArenaPlan;
  infer: ArenaPlan;
}

const isView = (L: LayerInfo, training: boolean): boolean =>
  L.kind === LayerKind.Flatten || L.kind === LayerKind.Reshape || (!training && L.kind === LayerKind.Dropout);

/** True when node L's backward reads its input tensors. */
export function backReadsInputs(L: LayerInfo): boolean {
  switch (L.kind) {
    case LayerKind.Conv2D: case LayerKind.Dense: case LayerKind.Multiply: case LayerKind.Maximum:
    case LayerKind.Minimum: case LayerKind.Dot:
      return true;
    case LayerKind.Activation:
      return activationNeedsInput(L.act);
    default:
      return L.node?.backReadsInputs ?? false;
  }
}

/** True when node L's backward reads its own output. */
export function backReadsOutput(L: LayerInfo): boolean {
  if (L.kind === LayerKind.Activation) return true;
  if (L.node !== undefined) return L.node.backReadsOutput;
  return (L.kind === LayerKind.Conv2D || L.kind === LayerKind.Dense) && L.act !== Act.Linear;
}

interface Ev { time: number; free: boolean; id: number; size: number }

/** First-fit placement of buffers over their lifetimes; returns offsets by id and the peak. */
export function placeBuffers(events: Ev[], count: number): { off: number[]; floats: number } {
  events.sort((a, b) => a.time - b.time || Number(a.free) - Number(b.free) || a.id - b.id);
  const off = new Array<number>(count).fill(-1);
  const live: { off: number; size: number; id: number }[] = []; // sorted by offset
  let floats = 0;
  for (const e of events) {
    if (e.free) {
      const k = live.findIndex((b) => b.id === e.id);
      if (k >= 0) live.splice(k, 1);
      continue;
    }
    let at = 0, k = 0;
    for (; k < live.length; k++) {
      if (live[k].off - at >= e.size) break;
      at = Math.max(at, live[k].off + live[k].size);
    }
    live.splice(k, 0, { off: at, size: e.size, id: e.id });
    off[e.id] = at;
    floats = Math.max(floats, at + e.size);
  }
  return { off, floats };
}

export function planGraph(s: CheckedSpec): GraphPlan {
  const layers = s.layers, I = s.inputShapes.length, L = layers.length, nT = I + L;
  const size = s.tensorShapes.map((sh) => sh[0] * sh[1] * sh[2]);
  const readers: number[][] = Array.from({ length: nT }, () => []);
  layers.forEach((n, j) => n.inputs.forEach((t) => readers[t].push(j)));
  const isOutput = new Array<boolean>(nT).fill(false);
  for (const id of s.outputs) isOutput[id] = true;

  const storage = (training: boolean): number[] => {
    const st = Array.from({ length: nT }, (_, t) => t);
    layers.forEach((n, j) => { if (isView(n, training)) st[I + j] = st[n.inputs[0]]; });
    return st;
  };
  const trainStorage = storage(true), inferStorage = storage(false);

  const needGrad = new Array<boolean>(nT).fill(false);
  layers.forEach((n, j) => { needGrad[I + j] = n.trainable || n.inputs.some((t) => needGrad[t]); });
  const reached = new Array<boolean>(nT).fill(false);
  for (const id of s.outputs) reached[id] = needGrad[id];
  const runBack = new Array<boolean>(L).fill(false);
  for (let j = L - 1; j >= 0; j--) {
    runBack[j] = needGrad[I + j] && reached[I + j];
    if (runBack[j]) for (const t of layers[j].inputs) if (needGrad[t]) reached[t] = true;
  }
  const gradRoot = trainStorage.slice(); // training views share their source's gradient

  const key = (f: string, o: number): string => `${f}@${o}`;
  const uses = new Map<string, number>();
  const fields = ['kernel', 'bias', 'gamma', 'beta', 'movingMean', 'movingVar'] as const;
  for (const n of layers) for (const f of fields) if (n[f] >= 0) uses.set(key(f, n[f]), (uses.get(key(f, n[f])) ?? 0) + 1);
  const shared = layers.map((n) => fields.some((f) => n[f] >= 0 && (uses.get(key(f, n[f])) as number) > 1));
  const maxAct = Math.max(...size);

  const arena = (training: boolean): ArenaPlan => {
    const st = training ? trainStorage : inferStorage;
    const NEVER = Infinity;
    const last = new Array<number>(nT).fill(-1);
    const ev: Ev[] = [];
    for (let t = I; t < nT; t++) if (st[t] === t) last[t] = t - I;
    for (let t = 0; t < nT; t++) {
      const S = st[t];
      if (S < I) continue;
      if (isOutput[t]) last[S] = NEVER;
      for (const r of readers[t]) {
        last[S] = Math.max(last[S], r);
        if (training && runBack[r] && backReadsInputs(layers[r])) last[S] = Math.max(last[S], 2 * L - r);
      }
      const j = t - I;
      if (training && t >= I && S === t && runBack[j] && backReadsOutput(layers[j])) {
        last[S] = Math.max(last[S], 2 * L - j);
      }
    }
    for (let t = I; t < nT; t++) {
      if (st[t] !== t) continue;
      ev.push({ time: t - I, free: false, id: t, size: size[t] });
      if (last[t] !== NEVER) ev.push({ time: last[t], free: true, id: t, size: size[t] });
    }
    let anyBack = false;
    if (training) {
      for (let r = I; r < nT; r++) {
        if (gradRoot[r] !== r || !runBack[r - I]) continue;
        anyBack = true;
        let first = 2 * L - (r - I);
        for (let t = I; t < nT; t++) {
          if (gradRoot[t] !== r) continue;
          if (isOutput[t]) first = Math.min(first, L);
          for (const rr of readers[t]) {
            if (runBack[rr] && !isView(layers[rr], true)) first = Math.min(first, 2 * L - rr);
          }
        }
        ev.push({ time: first, free: false, id: nT + r, size: size[r] });
        ev.push({ time: 2 * L - (r - I), free: true, id: nT + r, size: size[r] });
      }
      if (anyBack) ev.push({ time: L, free: false, id: 2 * nT, size: maxAct });
    }
    const placed = placeBuffers(ev, 2 * nT + 1);
    return {
      floats: placed.floats,
      off: placed.off.slice(0, nT),
      gradOff: placed.off.slice(nT, 2 * nT),
      scratchOff: placed.off[2 * nT],
    };
  };

  return {
    nT, size, readers, storageOf: trainStorage, gradRoot, needGrad, runBack, shared, maxAct,
    train: arena(true), infer: arena(false),
  };
}
