/**
 * Name tables for lookup() (activations, losses, optimizers, metrics, initializers) without a
 * prototype, so that names like "constructor", "toString" or "__proto__" from a user or a model
 * file are unknown names, not Object.prototype's members.
 */
export function nameTable<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}
