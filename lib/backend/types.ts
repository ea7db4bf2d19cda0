/**
 * The backend contract. Two implementations exist: `native` (the C++ addon, native/binding/) and
 * `js` (pure TypeScript, lib/backend/js/). Every kernel has the same signature, the same buffer
 * layouts and the same semantics in both; the C++ headers in native/kernels/ document each one.
 * Buffers are caller-owned; nothing here allocates per call except where noted.
 */

/** Mirrors `cnn::Act` (native/kernels/common.h). */
export enum Act {
  Linear = 0, Relu = 1, LeakyRelu = 2, Elu = 3, Selu = 4, Sigmoid = 5, Tanh = 6, Softplus = 7,
  Gelu = 8, Swish = 9, Softmax = 10, Relu6 = 11,
}

/** Mirrors `cnn::Padding`. */
export enum Padding { Valid = 0, Same = 1 }

/** Mirrors `cnn::Loss` (native/kernels/loss.h). */
export enum LossKind {
  CategoricalCrossentropy = 0, SparseCategoricalCrossentropy = 1, BinaryCrossentropy = 2,
  MeanSquaredError = 3, MeanAbsoluteError = 4,
}

/** Mirrors `cnn::GemmKernel`. */
export enum GemmKernel { Auto = 0, Avx2Fma = 1, Portable = 2, Naive = 3, Avx512 = 4 }

/** Mirrors `cnn::Conv2DDims` (native/kernels/conv2d.h). */
export interface Conv2DDims {
  N: number; H: number; W: number; C: number;
  KH: number; KW: number; OC: number;
  SH: number; SW: number; DH: number; DW: number;
  PT: number; PL: number;
  OH: number; OW: number;
}

/** Mirrors `cnn::Pool2DDims` (native/kernels/pool2d.h). */
export interface Pool2DDims {
  N: number; H: number; W: number; C: number;
  PH: number; PW: number; SH: number; SW: number;
  PT: number; PL: number;
  OH: number; OW: number;
}

/** Mirrors `cnn::LayerKind` (native/engine/network.h). */
export enum LayerKind {
  Conv2D = 0, Dense = 1, MaxPool2D = 2, AvgPool2D = 3, GlobalAvgPool2D = 4, GlobalMaxPool2D = 5,
  Flatten = 6, Dropout = 7, BatchNorm = 8, Activation = 9,
  // graph nodes (merges read two or more tensors of the same shape; Concatenate joins on `axis`)
  Add = 10, Subtract = 11, Multiply = 12, Average = 13, Maximum = 14, Minimum = 15, Concatenate = 16,
  /** Two (1, 1, F) vectors -> (1, 1, 1); `normalize` divides by both L2 norms (cosine). */
  Dot = 17,
  /** A view: `out` is the new per-sample shape (same size). */
  Reshape = 18,
  // registry kinds (lib/backend/js/nodes/node_kind.ts; numbers reserved in native/engine/nodes/node_kind.h)
  /** `pad` = [top, bottom, left, right] zero rows / columns. */
  ZeroPadding2D = 19,
  /** `crop` = [top, bottom, left, right] rows / columns removed. */
  Cropping2D = 20,
  /** `size` = [row, column] factors, `interpolation` 0 nearest / 1 bilinear. */
  UpSampling2D = 21,
  DepthwiseConv2D = 22, Conv2DTranspose = 23, LayerNorm = 24, PReLU = 25,
  Softmax = 26, SpatialDropout2D = 27, GaussianNoise = 28, GaussianDropout = 29, Rescaling = 30, Resizing = 31,
  CenterCrop = 32, RandomFlip = 33, RandomRotation = 34, RandomZoom = 35, RandomTranslation = 36,
  RandomContrast = 37, RandomCrop = 38,
}

/** Mirrors `cnn::OptimizerKind`. */
export enum OptimizerKind { Sgd = 0, Momentum = 1, Adam = 2, AdamW = 3, RMSprop = 4, Adagrad = 5 }

/**
 * Mirrors `cnn::ComputeDtype` (native/engine/network.h): the dtype a Conv2D / Dense layer's GEMMs
 * compute in. BFloat16 (Keras' mixed_bfloat16): the GEMM operands (input activations, kernel, and
 * in backward the output gradient, rounded in place after the activation's derivative) are rounded
 * to bf16 and the products summed in fp32; bias, activations, parameters, gradients, loss and
 * optimizer state stay fp32, and activations are stored as fp32.
 */
export enum ComputeDtype { Float32 = 0, BFloat16 = 1 }

/** Mirrors `cnn::Bf16Kernel` (native/kernels/bf16/bf16.h): the paths of sbgemm. */
export enum Bf16Kernel { Auto = 0, Avx512Bf16 = 1, RoundedSgemm = 2, Naive = 3 }

/** Mirrors `cnn::LayerSpec`: per-sample shapes are [H, W, C]; a feature vector is [1, 1, F]. */
export interface LayerSpec {
  kind: LayerKind;
  in: [number, number, number];
  out: [number, number, number];
  kh?: number; kw?: number; sh?: number; sw?: number; dh?: number; dw?: number;
  padding?: Padding;
  filters?: number;
  units?: number;
  act?: Act;
  alpha?: number;
  rate?: number;
  momentum?: number;
  eps?: number;
  /** Offsets in floats into the flat parameter buffer; -1 or absent when the layer has none. */
  kernel?: number; bias?: number; gamma?: number; beta?: number; movingMean?: number; movingVar?: number;
  /** Conv2D / Dense compute dtype; absent = Float32. */
  dtype?: ComputeDtype;
  /**
   * Graph form: the tensor ids this node reads (ids 0..I-1 are the model inputs, I + j is node j's
   * output). Absent: the chain form (node i reads node i-1, node 0 the single input).
   */
  inputs?: number[];
  /** Merge nodes: the shapes of all inputs (`in` is the first). */
  ins?: [number, number, number][];
  /** Concatenate: the per-sample axis (0 = H, 1 = W, 2 = C; Keras axis -1 is 2). */
  axis?: number;
  /** Dot: L2-normalise both vectors first (cosine proximity). */
  normalize?: boolean;
  /** ZeroPadding2D: [top, bottom, left, right]; absent = [0, 0, 0, 0]. */
  pad?: [number, number, number, number];
  /** Cropping2D: [top, bottom, left, right]; absent = [0, 0, 0, 0]. */
  crop?: [number, number, number, number];
  /** UpSampling2D: [row, column] factors; absent = [1, 1]. */
  size?: [number, number];
  /** UpSampling2D: 0 nearest (default), 1 bilinear as TF.js (no half-pixel offset). */
  interpolation?: number;
  /** PReLU: [H, W, C] flags, 1 where alpha is shared over that axis; alpha's offset is `kernel`. */
  shared?: [number, number, number];
}

/** The loss of one model output (graph form); total loss = sum of weight * loss. */
export interface OutputLossSpec {
  loss: LossKind;
  fromLogits?: boolean;
  labelSmoothing?: number;
  /** Keras lossWeights; default 1. */
  weight?: number;
}

export interface OptimizerSpec {
  kind: OptimizerKind;
  beta1?: number; beta2?: number; eps?: number;
  momentum?: number; nesterov?: boolean;
  rho?: number; centered?: boolean;
  weightDecay?: number;
  clipNorm?: number; clipValue?: number;
}

export interface VariableSpec { offset: number; size: number; trainable: boolean }

export interface NetworkSpec {
  /** The nodes in topological order (each reads only model inputs or earlier nodes). */
  layers: LayerSpec[];
  vars: VariableSpec[];
  /** Graph form: the per-sample shape [H, W, C] of each model input; absent = one input, layers[0].in. */
  inputs?: [number, number, number][];
  /** Graph form: tensor ids of the model outputs; absent = the last node. */
  outputs?: number[];
  /** Graph form: one loss per output; absent = `loss` / `fromLogits` / `labelSmoothing` for every output. */
  outputLosses?: OutputLossSpec[];
  loss: LossKind;
  fromLogits?: boolean;
  labelSmoothing?: number;
  opt: OptimizerSpec;
  seed?: number;
}

/** Labels: (n, D) floats, or (n) int32 class indices for the sparse loss. */
export type Labels = Float32Array | Int32Array;

/** One input per model input (in `inputs` order): a single Float32Array when there is one. */
export type Inputs = Float32Array | Float32Array[];
/** One label set per model output: a single Labels when there is one. */
export type LabelSet = Labels | Labels[];
/** One output buffer per model output: a single Float32Array when there is one. */
export type Outputs = Float32Array | Float32Array[];

/** A compiled network (native/engine/network.h, lib/backend/js/network.ts). */
export interface Network {
  /** Returns the total (weighted) loss; getLosses gives each output's. */
  forwardBackward(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): number;
  trainStep(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): number;
  /** Same as trainStep but off the main thread (native) or after yielding to the event loop (js). */
  trainStepAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): Promise<number>;
  /** forwardBackward off the main thread (native) or after yielding to the event loop (js). */
  forwardBackwardAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): Promise<number>;
  /**
   * The optimizer update (clipping included) from the flat gradient g (paramCount floats; its
   * non-trainable ranges are ignored) with learning rate lr and step t: what trainStep does after
   * its forwardBackward, for a gradient combined elsewhere (the average over data-parallel ranks).
   */
  applyGradients(g: Float32Array, lr: number, t: number): void;
  /** applyGradients off the main thread (native) or after yielding to the event loop (js); leave g alone until it settles. */
  applyGradientsAsync(g: Float32Array, lr: number, t: number): Promise<void>;
  predict(out: Outputs, x: Inputs, n: number): void;
  predictAsync(out: Outputs, x: Inputs, n: number): Promise<void>;
  evaluate(out: Outputs, x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): number;
  /** Copies output k (n * outSizes[k] floats) of the last forwardBackward / trainStep into dst. */
  getOutput(dst: Float32Array, k?: number): void;
  /** Copies the per-output (unweighted) losses of the last forwardBackward / trainStep / evaluate into dst. */
  getLosses(dst: Float32Array): void;
  /** Copies the flat gradient of the last forwardBackward / trainStep into dst (paramCount floats). */
  getGrads(dst: Float32Array): void;
  /** Bytes of the training and inference arenas allocated so far (the engine's own count). */
  arenaBytes(): number;
  /** = outSizes[0] */
  readonly outSize: number;
  /** = inSizes[0] */
  readonly inSize: number;
  readonly outSizes: number[];
  readonly inSizes: number[];
  readonly paramCount: number;
  readonly slotCount: number;
  /** Frees native memory now (the finalizer does it otherwise). Further calls throw. */
  dispose(): void;
}

/** Every kernel of a backend. Gradient outputs are overwritten, never accumulated, unless noted. */
export interface Kernels {
  readonly name: 'native' | 'js';

  // threads and GEMM (native/kernels/gemm/sgemm.h)
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Returns false when the kernel cannot run on this CPU. */
  setGemmKernel(k: GemmKernel): boolean;
  gemmKernel(): GemmKernel;
  /**
   * Native only: every SGEMM kernel with whether this CPU can run it (and why not), the active one
   * and the name of the one Auto picks. The TypeScript backend has one kernel and leaves this undefined.
   */
  gemmKernels?(): {
    active: GemmKernel; activeName: string; auto: string;
    kernels: { id: GemmKernel; name: string; available: boolean; reason?: string }[];
  };
  /** Native only: cpuid reports avx512f + avx512vl and the OS enables the zmm state. */
  cpuHasAvx512?(): boolean;
  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
        A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number,
        C: Float32Array, ldc: number): void;
  sgemmNaive(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
             A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number,
             C: Float32Array, ldc: number): void;

  // bf16 kernels (native/kernels/bf16/bf16.h): native backend only, for tests and benchmarks
  /** dst[i] = src[i] rounded to bf16 (nearest even), as fp32. */
  bf16Round?(dst: Float32Array, src: Float32Array): void;
  /** C = alpha * bf16(op(A)) · bf16(op(B)) + beta * C with fp32 accumulation, on the active path. */
  sbgemm?(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
          A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number,
          C: Float32Array, ldc: number): void;
  sbgemmNaive?(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
               A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number,
               C: Float32Array, ldc: number): void;
  /** Returns false when this CPU cannot run the path. */
  setBf16Kernel?(k: Bf16Kernel): boolean;
  bf16Kernels?(): {
    active: Bf16Kernel; activeName: string; auto: Bf16Kernel;
    kernels: { id: Bf16Kernel; name: string; available: boolean; reason?: string }[];
  };

  // conv2d.h
  conv2dDims(N: number, H: number, W: number, C: number, KH: number, KW: number, OC: number,
             SH: number, SW: number, DH: number, DW: number, pad: Padding): Conv2DDims;
  conv2dColSize(d: Conv2DDims): number;
  conv2dForward(out: Float32Array, col: Float32Array | null, inp: Float32Array, weight: Float32Array,
                bias: Float32Array | null, d: Conv2DDims, act: Act, alpha: number): void;
  conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                 dcol: Float32Array | null, dout: Float32Array, col: Float32Array | null,
                 inp: Float32Array, weight: Float32Array, d: Conv2DDims): void;
  conv2dForwardNaive(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
                     d: Conv2DDims, act: Act, alpha: number): void;
  conv2dBackwardNaive(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                      dout: Float32Array, inp: Float32Array, weight: Float32Array, d: Conv2DDims): void;

  // pool2d.h
  pool2dDims(N: number, H: number, W: number, C: number, PH: number, PW: number, SH: number, SW: number,
             pad: Padding): Pool2DDims;
  maxPool2dForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, d: Pool2DDims): void;
  maxPool2dBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, d: Pool2DDims): void;
  avgPool2dForward(out: Float32Array, inp: Float32Array, d: Pool2DDims): void;
  avgPool2dBackward(dinp: Float32Array, dout: Float32Array, d: Pool2DDims): void;
  globalAvgPoolForward(out: Float32Array, inp: Float32Array, N: number, HW: number, C: number): void;
  globalAvgPoolBackward(dinp: Float32Array, dout: Float32Array, N: number, HW: number, C: number): void;
  globalMaxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, N: number, HW: number, C: number): void;
  globalMaxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, N: number, HW: number, C: number): void;

  // dense.h
  denseForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
               N: number, IN: number, UNITS: number, act: Act, alpha: number): void;
  denseBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
                dout: Float32Array, inp: Float32Array, weight: Float32Array, N: number, IN: number, UNITS: number): void;

  // activations.h
  activationForward(y: Float32Array, x: Float32Array, rows: number, cols: number, act: Act, alpha: number): void;
  activationBackward(dx: Float32Array, dy: Float32Array, x: Float32Array | null, y: Float32Array,
                     rows: number, cols: number, act: Act, alpha: number): void;

  // loss.h: each returns the batch loss; dpred may be null (loss only)
  softmaxRows(probs: Float32Array, logits: Float32Array, N: number, D: number): void;
  softmaxCrossentropy(dlogits: Float32Array | null, probs: Float32Array, labels: Float32Array,
                      sw: Float32Array | null, N: number, D: number, smoothing: number): number;
  sparseSoftmaxCrossentropy(dlogits: Float32Array | null, probs: Float32Array, labels: Int32Array,
                            sw: Float32Array | null, N: number, D: number, smoothing: number): number;
  categoricalCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                          sw: Float32Array | null, N: number, D: number, smoothing: number): number;
  sparseCategoricalCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Int32Array,
                                sw: Float32Array | null, N: number, D: number, smoothing: number): number;
  binaryCrossentropy(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                     sw: Float32Array | null, N: number, D: number, fromLogits: boolean, smoothing: number): number;
  meanSquaredError(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                   sw: Float32Array | null, N: number, D: number): number;
  meanAbsoluteError(dpred: Float32Array | null, pred: Float32Array, labels: Float32Array,
                    sw: Float32Array | null, N: number, D: number): number;

  // dropout.h: rng state is a Uint32Array(4) (xoshiro128**), advanced in place
  rngSeed(state: Uint32Array, seed: number): void;
  dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, n: number, rate: number, rng: Uint32Array): void;
  dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void;

  // batchnorm.h
  batchnormForwardTrain(out: Float32Array, xhat: Float32Array, mean: Float32Array, invstd: Float32Array,
                        movingMean: Float32Array, movingVar: Float32Array, inp: Float32Array,
                        gamma: Float32Array, beta: Float32Array, rows: number, C: number, momentum: number, eps: number): void;
  batchnormForwardInfer(out: Float32Array, inp: Float32Array, gamma: Float32Array, beta: Float32Array,
                        movingMean: Float32Array, movingVar: Float32Array, rows: number, C: number, eps: number): void;
  batchnormBackward(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array,
                    xhat: Float32Array, invstd: Float32Array, gamma: Float32Array, rows: number, C: number): void;

  // optim.h (the updates refuse arrays that share memory: the first n elements of each must be disjoint)
  clipByValue(g: Float32Array, n: number, clip: number): void;
  clipByNorm(g: Float32Array, n: number, maxNorm: number): void;
  sgdUpdate(w: Float32Array, g: Float32Array, n: number, lr: number): void;
  momentumUpdate(w: Float32Array, v: Float32Array, g: Float32Array, n: number, lr: number, momentum: number, nesterov: boolean): void;
  adamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, n: number, lr: number,
             beta1: number, beta2: number, eps: number, t: number): void;
  adamwUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, n: number, lr: number,
              beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void;
  rmspropUpdate(w: Float32Array, ms: Float32Array, mom: Float32Array, mg: Float32Array | null, g: Float32Array,
                n: number, lr: number, rho: number, momentum: number, eps: number, centered: boolean): void;
  adagradUpdate(w: Float32Array, acc: Float32Array, g: Float32Array, n: number, lr: number, eps: number): void;

  // engine (native/engine/network.h)
  optimizerSlotCount(kind: OptimizerKind): number;
  /**
   * A compiled network over the caller's params and optimizer slots, which it updates in place (and,
   * on the native backend, from a worker thread during async calls). Neither may be backed by a
   * resizable ArrayBuffer; do not transfer or detach them while the network lives.
   */
  createNetwork(spec: NetworkSpec, params: Float32Array, slots: Float32Array): Network;
}
