/**
 * Finds and loads the compiled addon, in this order:
 *  1. `CNN_NATIVE_PATH`, when set (a specific cnn.node, e.g. a developer's build dir);
 *  2. `build/Release/cnn.node`, the local node-gyp build. In an installed package it exists only
 *     when the install script compiled the addon, which it does only when no bundled prebuild
 *     fits this machine or a source build was requested; in a checkout it is the fresh build;
 *  3. `prebuilds/<platform>-<arch>/cnn.node`, the N-API binary shipped in the package (one
 *     binary per platform serves every Node >= 20). Layout: see prebuilds/README.md.
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

/** The addon files to try, in order (see the file comment). */
export function nativeCandidates(): string[] {
  const out: string[] = [];
  if (process.env.CNN_NATIVE_PATH) out.push(path.resolve(process.env.CNN_NATIVE_PATH));
  out.push(path.join(packageRoot, 'build', 'Release', 'cnn.node'));
  out.push(path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'cnn.node'));
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
