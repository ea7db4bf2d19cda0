/**
 * Data-parallel training over Gloo (tf.distributed). `init` joins this process to a group of
 * `worldSize` ranks through a store (a directory on a shared filesystem, or Redis); afterwards
 * `model.fit` on array data runs data-parallel: every rank takes its shard of each global batch
 * (the same shuffle on every rank), computes its gradient, the gradients are averaged over the
 * ranks (weighted by the shard sizes) and every rank applies the same update, so N ranks with
 * batchSize B train as one process with batchSize N*B. The collectives come from the optional
 * cnn_gloo addon (`npm run build:gloo`, needs Debian's libgloo-dev); nothing here loads it until
 * init is called.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkNonNegInt, describe } from '../util';

export type ReduceOp = 'sum' | 'average' | 'max' | 'min';

export interface DistributedInitArgs {
  /** This process's rank in [0, worldSize) (default: the CNN_RANK environment variable). */
  rank?: number;
  /** How many processes train together (default: CNN_WORLD_SIZE). */
  worldSize?: number;
  /** Rendezvous: 'file:///shared/dir' or 'redis://host:port[/prefix]' (default: CNN_STORE). */
  store?: string;
  /** How long a collective (and the rendezvous) may wait for the other ranks (default 60000 ms). */
  timeoutMs?: number;
}

interface GlooAddon {
  init(rank: number, world: number, store: { kind: string; path?: string; host?: string; port?: number; prefix?: string }, timeoutMs: number): Promise<void>;
  allreduce(data: Float32Array, op: ReduceOp): Promise<void>;
  allreduceSync(data: Float32Array, op: ReduceOp): void;
  broadcast(data: Float32Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  destroy(): void;
}

/** The process group this process belongs to (library use: the data-parallel fit). */
export interface Group {
  readonly rank: number;
  readonly worldSize: number;
  allreduce(data: Float32Array, op?: ReduceOp): Promise<void>;
  /** Blocks this thread until every rank has called it (for the synchronous APIs: evaluate). */
  allreduceSync(data: Float32Array, op?: ReduceOp): void;
  broadcast(data: Float32Array, root?: number): Promise<void>;
  barrier(): Promise<void>;
}

let addon: GlooAddon | null = null;
let group: Group | null = null;
let pending = false;

const HOW = 'build it with `npm run build:gloo` (needs Gloo: on Debian `apt-get install libgloo-dev`), or set CNN_GLOO_PATH to a built cnn_gloo.node';

function loadAddon(): GlooAddon {
  if (addon) return addon;
  const candidates = process.env.CNN_GLOO_PATH
    ? [path.resolve(process.env.CNN_GLOO_PATH)]
    : [path.join(__dirname, '..', '..', 'build-gloo', 'Release', 'cnn_gloo.node')];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as GlooAddon;
    return addon;
  }
  throw new Error(`distributed.init: the optional Gloo addon is not built (looked for ${candidates.join(', ')}); ${HOW}`);
}

/** 'file:///dir' | 'redis://host:port[/prefix]' -> the addon's store description. */
export function parseStore(url: string): { kind: string; path?: string; host?: string; port?: number; prefix?: string } {
  if (typeof url !== 'string' || url === '') throw new TypeError(`distributed.init: store must be 'file:///dir' or 'redis://host:port[/prefix]', received ${describe(url)}`);
  if (url.startsWith('file://')) {
    const dir = url.slice('file://'.length);
    if (!dir.startsWith('/')) throw new Error(`distributed.init: a file store needs an absolute directory ('file:///dir'), received ${url}`);
    return { kind: 'file', path: dir };
  }
  const m = /^redis:\/\/([^:/]+)(?::(\d+))?(?:\/(.*))?$/.exec(url);
  if (m) return { kind: 'redis', host: m[1], port: m[2] ? Number(m[2]) : 6379, prefix: m[3] || undefined };
  throw new Error(`distributed.init: store must be 'file:///dir' or 'redis://host:port[/prefix]', received ${url}`);
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`distributed.init: ${name}=${v} is not an integer`);
  return n;
}

/** Joins the group (waits until all worldSize ranks have met in the store, or timeoutMs). */
export async function init(args: DistributedInitArgs = {}): Promise<void> {
  if (args === null || typeof args !== 'object') throw new TypeError(`distributed.init: args must be an object, received ${describe(args)}`);
  if (group || pending) throw new Error('distributed.init: already initialised (call distributed.destroy() first)');
  const worldSize = args.worldSize ?? envInt('CNN_WORLD_SIZE');
  const rank = args.rank ?? envInt('CNN_RANK');
  const store = args.store ?? process.env.CNN_STORE;
  if (worldSize === undefined) throw new Error('distributed.init: worldSize is not given (pass {worldSize} or set CNN_WORLD_SIZE)');
  if (rank === undefined) throw new Error('distributed.init: rank is not given (pass {rank} or set CNN_RANK)');
  if (store === undefined) throw new Error("distributed.init: store is not given (pass {store: 'file:///dir' | 'redis://host:port'} or set CNN_STORE)");
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`distributed.init: worldSize must be a positive integer, received ${describe(worldSize)}`);
  checkNonNegInt(rank, 'distributed.init', 'rank');
  if (rank >= worldSize) throw new RangeError(`distributed.init: rank ${rank} is not in [0, ${worldSize})`);
  const timeoutMs = args.timeoutMs ?? 60000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`distributed.init: timeoutMs must be a positive integer, received ${describe(timeoutMs)}`);
  const spec = parseStore(store);
  const a = loadAddon();
  pending = true;
  try {
    await a.init(rank, worldSize, spec, timeoutMs);
  } finally {
    pending = false;
  }
  group = {
    rank, worldSize,
    allreduce: (d, op = 'sum') => a.allreduce(d, op),
    allreduceSync: (d, op = 'sum') => a.allreduceSync(d, op),
    broadcast: (d, root = 0) => a.broadcast(d, root),
    barrier: () => a.barrier(),
  };
}

/** Leaves the group (a later init may join another). */
export function destroy(): void {
  if (!group) return;
  group = null;
  addon?.destroy();
}

export function isInitialized(): boolean {
  return group !== null;
}

/** This process's rank (0 without a group). */
export function rank(): number {
  return group ? group.rank : 0;
}

/** Ranks in the group (1 without a group). */
export function worldSize(): number {
  return group ? group.worldSize : 1;
}

function need(fn: string): Group {
  if (!group) throw new Error(`distributed.${fn}: call distributed.init() first`);
  return group;
}

/** Reduces data in place over every rank. */
export function allreduce(data: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
  if (!(data instanceof Float32Array)) throw new TypeError(`distributed.allreduce: data must be a Float32Array, received ${describe(data)}`);
  return need('allreduce').allreduce(data, op);
}

/**
 * allreduce() on the calling thread: blocks (the event loop too) until every rank has called it.
 * For synchronous code; refused while an asynchronous collective is in flight.
 */
export function allreduceSync(data: Float32Array, op: ReduceOp = 'sum'): void {
  if (!(data instanceof Float32Array)) throw new TypeError(`distributed.allreduceSync: data must be a Float32Array, received ${describe(data)}`);
  need('allreduceSync').allreduceSync(data, op);
}

/** Overwrites data on every rank with root's. */
export function broadcast(data: Float32Array, root = 0): Promise<void> {
  if (!(data instanceof Float32Array)) throw new TypeError(`distributed.broadcast: data must be a Float32Array, received ${describe(data)}`);
  const g = need('broadcast');
  if (!Number.isInteger(root) || root < 0 || root >= g.worldSize) throw new RangeError(`distributed.broadcast: root ${describe(root)} is not a rank in [0, ${g.worldSize})`);
  return g.broadcast(data, root);
}

export function barrier(): Promise<void> {
  return need('barrier').barrier();
}

/** Library use: the group fit trains over, or null. */
export function currentGroup(): Group | null {
  return group;
}
