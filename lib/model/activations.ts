/** Activation names (TF.js and Keras spellings) and their kernel codes. */
import { Act } from '../backend/types';
import { lookup } from '../util';
import { nameTable } from './names';

export type ActivationIdentifier =
  | 'linear' | 'relu' | 'relu6' | 'leakyRelu' | 'leaky_relu' | 'elu' | 'selu' | 'sigmoid' | 'tanh'
  | 'softplus' | 'gelu' | 'swish' | 'silu' | 'softmax';

const table: Record<string, Act> = nameTable({
  linear: Act.Linear, relu: Act.Relu, relu6: Act.Relu6, leakyrelu: Act.LeakyRelu, elu: Act.Elu,
  selu: Act.Selu, sigmoid: Act.Sigmoid, tanh: Act.Tanh, softplus: Act.Softplus, gelu: Act.Gelu,
  swish: Act.Swish, silu: Act.Swish, softmax: Act.Softmax,
});
const valid = ['linear', 'relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'gelu', 'swish', 'softmax'];

/** Serialised (Keras) names, indexed by Act. */
export const ACT_NAMES: Record<Act, string> = {
  [Act.Linear]: 'linear', [Act.Relu]: 'relu', [Act.LeakyRelu]: 'leaky_relu', [Act.Elu]: 'elu',
  [Act.Selu]: 'selu', [Act.Sigmoid]: 'sigmoid', [Act.Tanh]: 'tanh', [Act.Softplus]: 'softplus',
  [Act.Gelu]: 'gelu', [Act.Swish]: 'swish', [Act.Softmax]: 'softmax', [Act.Relu6]: 'relu6',
};

/** Default parameter of each activation (leaky_relu's slope, elu's alpha). */
export function defaultAlpha(act: Act): number {
  if (act === Act.LeakyRelu) return 0.2;
  if (act === Act.Elu) return 1;
  return 0;
}

export function resolveActivation(name: unknown, fn: string): Act {
  if (name === undefined || name === null) return Act.Linear;
  return lookup(table, name, `${fn}: activation`, valid);
}
