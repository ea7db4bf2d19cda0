/**
 * The few protobuf messages a TensorBoard event file needs, encoded by hand (field numbers from
 * tensorflow/core/util/event.proto and framework/summary.proto):
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
 *   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
 *                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
 */

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

/** Appends protobuf wire-format pieces to a growing list of byte chunks. */
class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  private varint(v: bigint): void {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      bytes.push(x ? b | 0x80 : b);
    } while (x);
    this.push(Uint8Array.from(bytes));
  }
  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int64(field: number, v: number): this {
    this.tag(field, VARINT);
    this.varint(BigInt(v));
    return this;
  }
  double(field: number, v: number): this {
    this.tag(field, FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, BYTES);
    this.varint(BigInt(b.length));
    this.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  packedDoubles(field: number, vs: ArrayLike<number>): this {
    const b = new Uint8Array(8 * vs.length);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat64(8 * i, vs[i], true);
    return this.bytes(field, b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Right edge of each bucket (the last is +max). */
  bucketLimit: number[];
  bucket: number[];
}

export type SummaryValue = { tag: string; simpleValue: number } | { tag: string; histo: Histogram };

export function encodeHistogram(h: Histogram): Uint8Array {
  return new ProtoWriter()
    .double(1, h.min).double(2, h.max).double(3, h.num).double(4, h.sum).double(5, h.sumSquares)
    .packedDoubles(6, h.bucketLimit).packedDoubles(7, h.bucket).finish();
}

function encodeValue(v: SummaryValue): Uint8Array {
  const w = new ProtoWriter().string(1, v.tag);
  if ('simpleValue' in v) w.float(2, v.simpleValue);
  else w.bytes(5, encodeHistogram(v.histo));
  return w.finish();
}

/** An Event with either file_version or a summary. */
export function encodeEvent(e: { wallTime: number; step?: number; fileVersion?: string; summary?: SummaryValue[] }): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime);
  if (e.step !== undefined) w.int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.summary) {
    const s = new ProtoWriter();
    for (const v of e.summary) s.bytes(1, encodeValue(v));
    w.bytes(5, s.finish());
  }
  return w.finish();
}
