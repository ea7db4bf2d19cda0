// The pure TypeScript backend: every kernel of lib/backend/types.ts, single-threaded, with the same
// buffer layouts and semantics as the C++ addon (native/kernels/*.h, native/engine/network.h).
import type { Kernels } from '../types';
import { activationBackward, activationForward } from './activations';
import { batchnormBackward, batchnormForwardInfer, batchnormForwardTrain } from './batchnorm';
import {
  conv2dBackward, conv2dBackwardNaive, conv2dColSize, conv2dDims, conv2dForward, conv2dForwardNaive,
} from './conv2d';
import { denseBackward, denseForward } from './dense';
import { dropoutBackward, dropoutForward } from './dropout';
import { gemmKernel, setGemmKernel, sgemm, sgemmNaive } from './gemm';
import {
  binaryCrossentropy, categoricalCrossentropy, meanAbsoluteError, meanSquaredError, softmaxCrossentropy,
  softmaxRows, sparseCategoricalCrossentropy, sparseSoftmaxCrossentropy,
} from './loss';
import { createNetwork } from './network';
import {
  adagradUpdate, adamUpdate, adamwUpdate, clipByNorm, clipByValue, momentumUpdate, optimizerSlotCount,
  rmspropUpdate, sgdUpdate,
} from './optim';
import {
  avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward, globalMaxPoolBackward,
  globalMaxPoolForward, maxPool2dBackward, maxPool2dForward, pool2dDims,
} from './pool2d';
import { rngSeed } from './rng';

export const jsKernels: Kernels = Object.freeze({
  name: 'js' as const,
  // The js backend is single-threaded.
  setNumThreads(_n: number): void { /* no thread pool */ },
  getNumThreads: (): number => 1,
  setGemmKernel, gemmKernel, sgemm, sgemmNaive,
  conv2dDims, conv2dColSize, conv2dForward, conv2dBackward, conv2dForwardNaive, conv2dBackwardNaive,
  pool2dDims, maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward,
  globalAvgPoolForward, globalAvgPoolBackward, globalMaxPoolForward, globalMaxPoolBackward,
  denseForward, denseBackward,
  activationForward, activationBackward,
  softmaxRows, softmaxCrossentropy, sparseSoftmaxCrossentropy, categoricalCrossentropy,
  sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError, meanAbsoluteError,
  rngSeed, dropoutForward, dropoutBackward,
  batchnormForwardTrain, batchnormForwardInfer, batchnormBackward,
  clipByValue, clipByNorm, sgdUpdate, momentumUpdate, adamUpdate, adamwUpdate, rmspropUpdate, adagradUpdate,
  optimizerSlotCount, createNetwork,
});
