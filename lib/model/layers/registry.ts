/**
 * The model side of the layer-kind registry (engine side: lib/backend/js/nodes/node_kind.ts and
 * native/engine/nodes/node_kind.h). A layer family's classes, their Keras config readers and their
 * ONNX mappings live in one file under lib/model/layers/ (e.g. padding.ts) that exports a
 * LayerFamily; FAMILIES below lists them. layer_configs.ts reads every listed class by name and
 * lib/onnx/export.ts calls a layer's toOnnx(emitter) when it has one, so neither grows a switch.
 *
 * How to add a layer class: write it in its family file (computeOutputShape, toSpec with the
 * registry LayerKind, getConfig as TF.js writes it, toOnnx), add its reader to the family's
 * `readers` and its TF.js factory to `factories`, and list a new family here.
 */
import type { Layer } from './base';
import { activationFamily } from './activation_layers';
import { oneDFamily } from './conv1d';
import { paddingFamily } from './padding';

type Config = Record<string, unknown>;

/** Where a config is read (layer_configs.ts LayerContext). */
export interface FamilyContext {
  where: string;
  inputShape?: number[];
}

/** The config-reading helpers layer_configs.ts hands to every family reader. */
export interface ConfigHelpers {
  /** name, trainable, dtype, batch_input_shape / input_shape. */
  baseArgs(c: Config, ctx: FamilyContext): Record<string, unknown>;
  /** Refuses data_format other than channels_last. */
  channelsLast(c: Config, ctx: FamilyContext): void;
  /** Throws `${ctx.where}: ${msg}`. */
  fail(ctx: FamilyContext, msg: string): never;
  /** A value as shown in messages. */
  shown(v: unknown): string;
  /** An initializer from a config entry (absent: dflt). */
  initializer(v: unknown, dflt: string): never;
}

/** What a layer's toOnnx sees of the exporter (lib/onnx/export.ts). */
export interface OnnxEmitter {
  /** The graph being built (lib/onnx/graph.ts GraphBuilder). */
  readonly g: {
    node(op: string, inputs: string[], attrs: unknown[], base: string): string;
    int64s(base: string, values: number[]): string;
    scalar(base: string, v: number): string;
    floats(base: string, dims: number[], values: Float32Array): string;
  };
  /** The running tensor: its name, layout ('nchw' only after a Transpose) and per-sample shape. */
  cur: { name: string; layout: 'nhwc' | 'nchw'; shape: number[] };
  toNchw(base: string): void;
  toNhwc(base: string): void;
}

export interface LayerFamily {
  /** Keras class name -> reader of its camelCase config. */
  readers: Record<string, (c: Config, ctx: FamilyContext, h: ConfigHelpers) => Layer>;
  /** Keras aliases -> class names. */
  aliases?: Record<string, string>;
  /** TF.js factory names (tf.layers.x) -> constructor. */
  factories: Record<string, (args: never) => Layer>;
}

export const FAMILIES: LayerFamily[] = [
  paddingFamily,
  oneDFamily,
  activationFamily,
];
