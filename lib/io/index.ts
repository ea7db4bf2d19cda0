// PLACEHOLDER: model saving and loading (TF.js layers-model format, ONNX export) are being written.
export async function saveModel(_model: unknown, _handlerOrUrl: unknown, _config?: unknown): Promise<unknown> {
  throw new Error('save: not implemented yet');
}
