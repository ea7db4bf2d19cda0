// PLACEHOLDER: the pure TypeScript kernels are being written (see lib/backend/types.ts).
import type { Kernels } from '../types';
export const jsKernels: Kernels = { name: 'js' } as unknown as Kernels;
