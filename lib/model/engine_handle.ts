/**
 * The engine handle of a model: the compiled Network (and a loss-less one for inference before
 * compile), the queue that serialises async engine calls, and the busy / training / dispose rules.
 * A model owns one; training.ts and inference.ts go through it for every engine call.
 */
import type { Network } from '../backend/types';
import type { LossConfig } from './losses';
import type { Metric } from './metrics';
import type { Optimizer } from './optimizers';

/** What compile() builds: the resolved optimizer, losses and metrics, and the training Network. */
export interface Compiled {
  optimizer: Optimizer;
  /** The first output's loss (the only one of a single-output model). */
  loss: LossConfig;
  /** One per output (outputs order). */
  losses: LossConfig[];
  /** Keras lossWeights, one per output (default 1). */
  lossWeights: number[];
  /** The first output's metrics. */
  metrics: Metric[];
  /** One list per output. */
  outputMetrics: Metric[][];
  net: Network;
  slots: Float32Array;
  iterations: number;
}

export class EngineHandle {
  compiled?: Compiled;
  inferenceNet?: Network;
  /** A fit / fitDataset / trainOnBatch is running. */
  training = false;
  /** Native calls in flight; sync calls that touch the engine or the weights refuse while > 0. */
  busy = 0;
  disposed = false;
  /** dispose() was called while training: it happens after the current batch. */
  disposeRequested = false;
  /** Serialises async engine calls (fit's steps, predictAsync, evaluateAsync) on this model. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Runs an async engine call after the ones already queued on this model. */
  serial<T>(f: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.busy++;
      try {
        return await f();
      } finally {
        this.busy--;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  checkUsable(fn: string): void {
    if (this.disposed || this.disposeRequested) throw new Error(`${fn}: the model was disposed`);
  }

  checkIdle(fn: string): void {
    if (this.busy > 0) throw new Error(`${fn}: the model is running a step; await it first (or use the async form)`);
  }

  /** Marks training as started; returns the compiled state (throws when not compiled or already training). */
  beginTraining(fn: string): Compiled {
    this.checkUsable(fn);
    if (!this.compiled) throw new Error(`${fn}: compile the model first, e.g. model.compile({optimizer: 'adam', loss: 'categoricalCrossentropy'})`);
    if (this.training) throw new Error(`${fn}: the model is already training; wait for the running fit to finish`);
    this.training = true;
    return this.compiled;
  }

  /** Marks training as ended; returns true when a dispose() requested meanwhile must run now. */
  endTraining(): boolean {
    this.training = false;
    return this.disposeRequested;
  }

  /** Frees both networks (the compiled state stays unless the caller drops it). */
  disposeNets(): void {
    try { this.compiled?.net.dispose(); } catch { /* already gone */ }
    try { this.inferenceNet?.dispose(); } catch { /* already gone */ }
    this.inferenceNet = undefined;
  }
}
