// What the chain engine (network.ts) and the graph engine (network_graph.ts) of the TypeScript
// backend share: argument checks with the native binding's messages, the optimizer step.
import { OptimizerKind, OptimizerSpec } from '../types';
import {
  adagradUpdate, adamUpdate, adamwUpdate, clipByNorm, clipByValue, momentumUpdate, rmspropUpdate, sgdUpdate,
} from './optim';

// ---- argument checks with the binding's messages --------------------------------------------------

export function argInt(fn: string, name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be a number`);
  if (!(v >= lo && v <= hi) || !Number.isInteger(v)) {
    throw new RangeError(`${fn}: ${name} must be an integer in [${lo}, ${hi}], received ${v}`);
  }
  return v;
}

export function argF32(fn: string, name: string, a: unknown, need: number, allowNull = false): Float32Array | null {
  if (a === null || a === undefined) {
    if (allowNull) return null;
    throw new TypeError(`${fn}: ${name} must be a Float32Array, received nothing`);
  }
  if (!(a instanceof Float32Array)) throw new TypeError(`${fn}: ${name} must be a Float32Array`);
  if (a.length < need) throw new TypeError(`${fn}: ${name} has ${a.length} elements, needs at least ${need}`);
  return a;
}

export function argI32(fn: string, name: string, a: unknown, need: number): Int32Array {
  if (a === null || a === undefined) throw new TypeError(`${fn}: ${name} must be an Int32Array, received nothing`);
  if (!(a instanceof Int32Array)) throw new TypeError(`${fn}: ${name} must be an Int32Array`);
  if (a.length < need) throw new TypeError(`${fn}: ${name} has ${a.length} elements, needs at least ${need}`);
  return a;
}

/** The single array of a one-element list (x / y / out of a one-input, one-output network). */
export function one<T>(fn: string, name: string, v: T | T[]): T {
  if (!Array.isArray(v)) return v;
  if (v.length !== 1) throw new TypeError(`${fn}: ${name} must hold 1 array (one per model ${name === 'out' || name === 'y' ? 'output' : 'input'}), received ${v.length}`);
  return v[0];
}

/** A trainable variable's views: weights, gradient, optimizer slots. */
export interface TrainVar { size: number; w: Float32Array; g: Float32Array; slots: Float32Array[] }

/** Clip and optimizer step of every trainable variable (slot k at slotBase + k * size). */
export function applyUpdate(vars: TrainVar[], o: Required<OptimizerSpec>, lr: number, t: number): void {
  for (const { w, g, size, slots: sl } of vars) {
    if (o.clipNorm > 0) clipByNorm(g, size, o.clipNorm);
    if (o.clipValue > 0) clipByValue(g, size, o.clipValue);
    switch (o.kind) {
      case OptimizerKind.Sgd: sgdUpdate(w, g, size, lr); break;
      case OptimizerKind.Momentum: momentumUpdate(w, sl[0], g, size, lr, o.momentum, o.nesterov); break;
      case OptimizerKind.Adam: adamUpdate(w, sl[0], sl[1], g, size, lr, o.beta1, o.beta2, o.eps, t); break;
      case OptimizerKind.AdamW:
        adamwUpdate(w, sl[0], sl[1], g, size, lr, o.beta1, o.beta2, o.eps, o.weightDecay, t);
        break;
      case OptimizerKind.RMSprop:
        rmspropUpdate(w, sl[0], sl[1], o.centered ? sl[2] : null, g, size, lr, o.rho, o.momentum, o.eps, o.centered);
        break;
      default: adagradUpdate(w, sl[0], g, size, lr, o.eps); break;
    }
  }
}

/** createNetwork's checks of the caller's params and slots (the binding's messages). */
export function checkParamsSlots(paramCount: number, slotCount: number, params: Float32Array, slots: Float32Array): void {
  const fn = 'createNetwork';
  argF32(fn, 'params', params, 0);
  argF32(fn, 'slots', slots, 0);
  // As natively: the native engine keeps pointers into both buffers while a step runs.
  for (const [name, a] of [['params', params], ['slots', slots]] as const) {
    if ((a.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true) {
      throw new TypeError(`${fn}: ${name} must not be backed by a resizable ArrayBuffer (the engine holds pointers into it)`);
    }
  }
  if (params.length < paramCount) {
    throw new TypeError(`${fn}: params has ${params.length} elements, the vars need ${paramCount}`);
  }
  if (slots.length < slotCount) {
    throw new TypeError(`${fn}: slots has ${slots.length} elements, the optimizer needs ${slotCount}`);
  }
}
