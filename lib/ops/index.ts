/** Every tensor op, TF.js-named; importing this module also installs the chained Tensor methods. */
import './chain';

export * from './elementwise';
export * from './compare';
export * from './reduce';
export * from './shape';
export * from './creation';
export * from './misc';
export { broadcastShape } from './broadcast';
export type { TensorOrLike } from './convert';
