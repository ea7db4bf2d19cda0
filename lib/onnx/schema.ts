/**
 * The ONNX protobuf schema (onnx.proto beside this file's source), parsed once with protobufjs.
 * The compiled JavaScript lives in dist/onnx/, the schema stays in lib/onnx/; both places
 * are tried.
 */
import { readFileSync, existsSync } from 'fs';
import * as path from 'path';
import type { Type } from 'protobufjs';

let modelType: Type | undefined;

function schemaPath(): string {
  const candidates = [
    path.join(__dirname, 'onnx.proto'),
    path.join(__dirname, '..', '..', 'lib', 'onnx', 'onnx.proto'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`toOnnx: the ONNX schema onnx.proto was not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** onnx.ModelProto, for encoding. */
export function onnxModelType(): Type {
  if (!modelType) {
    // Loaded on first use: exporting is rare and protobufjs is not needed to train.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const protobuf = require('protobufjs') as typeof import('protobufjs');
    const root = protobuf.parse(readFileSync(schemaPath(), 'utf8'), { keepCase: true }).root;
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}
