/**
 * Backend selection. The native addon is loaded at first use; when it cannot load, the pure
 * TypeScript backend takes over and one warning says how to get the native one.
 * `CNN_BACKEND=js` in the environment selects the TypeScript backend from the start.
 */
import { jsKernels } from './js';
import { loadNative } from './native';
import type { Kernels } from './types';

export type BackendName = 'native' | 'js';

let nativeKernels: Kernels | null | undefined; // undefined: not tried yet
let nativeTried: string[] = [];
let active: Kernels | undefined;
let warned = false;

function tryNative(): Kernels | null {
  if (nativeKernels === undefined) {
    const r = loadNative();
    nativeKernels = r.kernels;
    nativeTried = r.tried;
  }
  return nativeKernels;
}

/** The message given when the native addon is not available. */
export function nativeUnavailableMessage(): string {
  return (
    'cnn-node: the native addon could not be loaded, so the pure TypeScript backend is in use ' +
    '(same results, much slower). To get the native backend, build it: `npm rebuild cnn-node` ' +
    '(needs python3, make and a C++17 compiler). If npm skipped its install script, allow it first: ' +
    '`npm install-scripts approve cnn-node` (or add "allowScripts": { "cnn-node": true } to your ' +
    'package.json), then run `npm rebuild cnn-node`. Tried:\n  ' +
    nativeTried.join('\n  ')
  );
}

/** The kernels of the active backend (loads the native addon on first call). */
export function kernels(): Kernels {
  if (active) return active;
  const forced = process.env.CNN_BACKEND;
  if (forced === 'js') {
    active = jsKernels;
    return active;
  }
  const n = tryNative();
  if (n) {
    active = n;
  } else {
    active = jsKernels;
    if (!warned) {
      warned = true;
      process.emitWarning(nativeUnavailableMessage(), { code: 'CNN_NO_NATIVE' });
    }
  }
  return active;
}

/** 'native' when the C++ addon runs the kernels, 'js' for the pure TypeScript backend. */
export function getBackend(): BackendName {
  return kernels().name;
}

/**
 * Switches backend on purpose. `setBackend('native')` throws (with what was tried) when the addon
 * cannot load. Models compiled before the switch keep the backend they were compiled with.
 */
export function setBackend(name: BackendName): void {
  if (name === 'js') {
    active = jsKernels;
    return;
  }
  if (name === 'native') {
    const n = tryNative();
    if (!n) throw new Error(nativeUnavailableMessage());
    active = n;
    return;
  }
  throw new Error(`setBackend: expected 'native' or 'js', received ${JSON.stringify(name)}`);
}

/** The kernels of a named backend, without switching (tests compare both). */
export function backendKernels(name: BackendName): Kernels {
  if (name === 'js') return jsKernels;
  const n = tryNative();
  if (!n) throw new Error(nativeUnavailableMessage());
  return n;
}

/** Sets the native thread pool size (the js backend is single-threaded and ignores it). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new RangeError(`setNumThreads: n must be an integer in [1, 1024], received ${n}`);
  }
  const k = tryNative();
  if (k) k.setNumThreads(n);
}

/** The native thread pool size (1 when only the js backend is available). */
export function getNumThreads(): number {
  const k = tryNative();
  return k ? k.getNumThreads() : 1;
}
