/**
 * Finds and loads the compiled addon: `CNN_NATIVE_PATH` if set, then a bundled prebuild
 * (`prebuilds/<platform>-<arch>/cnn.node`), then the local build (`build/Release/cnn.node`).
 * Returns the kernels, or the list of what was tried and why each failed.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Kernels } from './types';

export interface NativeLoadResult {
  kernels: Kernels | null;
  /** Each candidate path with the reason it did not load. */
  tried: string[];
}

/** The package root (this file compiles to dist/backend/native.js). */
export const packageRoot = path.resolve(__dirname, '..', '..');

export function nativeCandidates(): string[] {
  const out: string[] = [];
  if (process.env.CNN_NATIVE_PATH) out.push(path.resolve(process.env.CNN_NATIVE_PATH));
  out.push(path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'cnn.node'));
  out.push(path.join(packageRoot, 'build', 'Release', 'cnn.node'));
  return out;
}

export function loadNative(): NativeLoadResult {
  const tried: string[] = [];
  for (const file of nativeCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const addon = require(file);
      return { kernels: Object.freeze({ ...addon, name: 'native' }) as Kernels, tried };
    } catch (e) {
      tried.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { kernels: null, tried };
}
