/** ONNX export: model.toOnnx() bytes and model.saveOnnx(path). */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { modelToOnnx } from './export';
import type { OnnxExportable, OnnxExportOptions } from './export';

export { modelToOnnx, samePads, ONNX_OPSET, ONNX_IR_VERSION } from './export';
export type { OnnxExportable, OnnxExportOptions } from './export';

/** Writes the ONNX model to file (through a temporary file and a rename, so never half written). */
export async function saveOnnx(model: OnnxExportable, file: string, options: OnnxExportOptions = {}): Promise<{ path: string; bytes: number }> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError('saveOnnx: expected a file path');
  if (file.startsWith('file://')) file = file.slice('file://'.length);
  const bytes = modelToOnnx(model, options);
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, bytes, { flag: 'wx' });
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw new Error(`saveOnnx: cannot write ${target}: ${(e as Error).message}`);
  }
  return { path: target, bytes: bytes.length };
}
