/**
 * IDX files: the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).
 *
 *   bytes 0-1  zero
 *   byte  2    type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions d
 *   then d big-endian uint32 sizes, then the data, big-endian, row-major.
 *
 * Files may be gzipped (recognised by the gzip magic 1f 8b, not by the name). Every defect gives
 * an Error naming the file; nothing is allocated for the data before its size is checked.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { constants as bufferConstants } from 'buffer';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface Idx {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

/** The header of an IDX file, as read by `parseIdxHeader`. */
export interface IdxHeader {
  dtype: IdxDType;
  shape: number[];
  /** Bytes before the data: 4 + 4 * rank. */
  headerBytes: number;
  /** Bytes of data the shape needs. */
  dataBytes: number;
}

/** Most values an IDX file may hold (the largest TypedArray and Tensor length). */
export const IDX_MAX_ELEMENTS = 2 ** 31 - 1;
/** Most bytes of data an IDX file may hold (8 GiB). */
export const IDX_MAX_BYTES = 2 ** 33;

interface TypeInfo {
  dtype: IdxDType;
  bytes: number;
  make: (n: number) => IdxData;
}

const TYPES: Record<number, TypeInfo> = {
  0x08: { dtype: 'uint8', bytes: 1, make: (n) => new Uint8Array(n) },
  0x09: { dtype: 'int8', bytes: 1, make: (n) => new Int8Array(n) },
  0x0b: { dtype: 'int16', bytes: 2, make: (n) => new Int16Array(n) },
  0x0c: { dtype: 'int32', bytes: 4, make: (n) => new Int32Array(n) },
  0x0d: { dtype: 'float32', bytes: 4, make: (n) => new Float32Array(n) },
  0x0e: { dtype: 'float64', bytes: 8, make: (n) => new Float64Array(n) },
};

const CODES: Record<IdxDType, number> = {
  uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e,
};

/** Bytes per value of an IDX type. */
export function idxBytesPer(dtype: IdxDType): number {
  return TYPES[CODES[dtype]].bytes;
}

const hex = (b: number): string => '0x' + b.toString(16).padStart(2, '0');

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Reads the header at the start of `buf` (uncompressed IDX bytes). Throws when the magic or the
 * type code is wrong, when `buf` ends inside the header, or when the sizes are absurd.
 */
export function parseIdxHeader(buf: Uint8Array, name = 'IDX data'): IdxHeader {
  if (buf.length === 0) throw new Error(`${name}: file is empty, expected IDX data`);
  if (buf.length < 4) throw new Error(`${name}: truncated IDX header (${buf.length} of 4 bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(
      `${name}: bad magic number ${hex(buf[0])} ${hex(buf[1])}: an IDX file starts with two zero bytes ` +
        '(is this an IDX file?)',
    );
  }
  const info = TYPES[buf[2]];
  if (!info) {
    throw new Error(
      `${name}: unknown IDX type code ${hex(buf[2])} (expected 0x08 uint8, 0x09 int8, 0x0b int16, ` +
        '0x0c int32, 0x0d float32 or 0x0e float64)',
    );
  }
  const rank = buf[3];
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) {
    throw new Error(
      `${name}: truncated IDX header: ${rank} dimensions need ${headerBytes} bytes, file has ${buf.length}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, headerBytes);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d; // exact: checked against the limit after each step, so it never exceeds 2^63
    if (count > IDX_MAX_ELEMENTS) {
      // keep reading the remaining sizes for the message, but stop multiplying
      for (let j = i + 1; j < rank; j++) shape.push(view.getUint32(4 + 4 * j, false));
      if (shape.includes(0)) break; // a zero size makes the product 0: fine after all
      throw new Error(
        `${name}: IDX dimensions [${shape.join(', ')}] hold more than ${IDX_MAX_ELEMENTS} values ` +
          '(corrupt header?)',
      );
    }
  }
  if (shape.includes(0)) count = 0;
  const dataBytes = count * info.bytes;
  if (dataBytes > IDX_MAX_BYTES) {
    throw new Error(`${name}: IDX dimensions [${shape.join(', ')}] need ${dataBytes} bytes, more than the limit`);
  }
  return { dtype: info.dtype, shape, headerBytes, dataBytes };
}

/** Decodes `count` big-endian values of `dtype` from `bytes` into a new TypedArray. */
export function decodeIdxValues(bytes: Uint8Array, dtype: IdxDType, count: number): IdxData {
  const info = TYPES[CODES[dtype]];
  const out = info.make(count);
  if (info.bytes === 1) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * info.bytes);
  switch (dtype) {
    case 'int16': for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false); break;
    case 'int32': for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false); break;
    case 'float32': for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false); break;
    case 'float64': for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false); break;
    default: throw new Error(`decode: unhandled dtype ${dtype}`);
  }
  return out;
}

/** Throws unless `have` bytes of data are exactly what the header needs. */
function checkDataBytes(h: IdxHeader, have: number, name: string): void {
  const what = `shape [${h.shape.join(', ')}] (${h.dtype})`;
  if (have < h.dataBytes) {
    throw new Error(`${name}: truncated IDX file: ${what} needs ${h.dataBytes} data bytes, file has ${have}`);
  }
  if (have > h.dataBytes) {
    throw new Error(
      `${name}: ${have - h.dataBytes} byte${have - h.dataBytes === 1 ? '' : 's'} of trailing data after the ${h.dataBytes} bytes that ${what} needs ` +
        '(corrupt header or not an IDX file?)',
    );
  }
}

/** Parses uncompressed IDX bytes. */
function parseRaw(buf: Uint8Array, name: string): Idx {
  const h = parseIdxHeader(buf, name);
  checkDataBytes(h, buf.length - h.headerBytes, name);
  const count = h.dataBytes / idxBytesPer(h.dtype);
  return { dtype: h.dtype, shape: h.shape, data: decodeIdxValues(buf.subarray(h.headerBytes), h.dtype, count) };
}

function gunzipError(name: string, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${name}: corrupt or truncated gzip data (${msg})`);
}

/**
 * Compressed bytes decompressed to find the header. An IDX header is at most 1,024 bytes and deflate
 * never expands data by more than a few bytes per block, so 4,096 bytes hold it unless the gzip
 * header carries huge optional fields; they also bound the probe's output (about 4 MB at most).
 */
const GZ_HEADER_PROBE = 4096;

/**
 * The IDX header of gzipped data from its first GZ_HEADER_PROBE bytes (`prefix`); `whole` says
 * the prefix is the entire input, so a short result means an empty or truncated file.
 */
function gzipHeader(prefix: Uint8Array, whole: boolean, name: string): IdxHeader {
  let head: Buffer;
  try {
    head = zlib.gunzipSync(prefix.subarray(0, GZ_HEADER_PROBE), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw gunzipError(name, e);
  }
  if (!(head.length >= 4 && head.length >= 4 + 4 * head[3])) {
    if (!whole) {
      throw new Error(`${name}: no IDX header in the first ${GZ_HEADER_PROBE} bytes of gzip data (unusual gzip header?)`);
    }
    try {
      zlib.gunzipSync(prefix); // report a gzip error if there is one
    } catch (e) {
      throw gunzipError(name, e);
    }
    if (head.length === 0) throw new Error(`${name}: file is empty (its gzip data holds no bytes), expected IDX data`);
  }
  return parseIdxHeader(head, name);
}

/**
 * Decompresses gzipped IDX data in two steps so a hostile header cannot make it allocate much:
 * first a prefix, to read the header; then the whole, capped at the size the header announces.
 */
function gunzipIdx(buf: Uint8Array, name: string): Buffer {
  const h = gzipHeader(buf.subarray(0, GZ_HEADER_PROBE), buf.length <= GZ_HEADER_PROBE, name);
  const expected = h.headerBytes + h.dataBytes;
  if (expected > bufferConstants.MAX_LENGTH) {
    throw new Error(`${name}: IDX data of ${expected} bytes is larger than Node can hold in one Buffer`);
  }
  try {
    // one byte over the announced size is enough to tell trailing data from a good file
    return zlib.gunzipSync(buf, { maxOutputLength: Math.min(expected + 1, bufferConstants.MAX_LENGTH) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(
        `${name}: trailing data after the ${h.dataBytes} bytes that shape [${h.shape.join(', ')}] ` +
          `(${h.dtype}) needs (corrupt header or not an IDX file?)`,
      );
    }
    throw gunzipError(name, e);
  }
}

/** Parses IDX bytes held in memory, gzipped or not. `name` (a file name) appears in errors. */
export function parseIdx(buffer: Uint8Array, name = 'IDX data'): Idx {
  if (!(buffer instanceof Uint8Array)) throw new TypeError(`parseIdx: ${name}: expected a Buffer or Uint8Array`);
  if (buffer.length === 0) throw new Error(`${name}: file is empty, expected IDX data`);
  return parseRaw(isGzip(buffer) ? gunzipIdx(buffer, name) : buffer, name);
}

/** Where an IDX file's data starts and how it is stored, as read by `readIdxHeader`. */
export interface IdxFileHeader extends IdxHeader {
  path: string;
  gzip: boolean;
  /** Size of the file on disk. */
  fileBytes: number;
}

/**
 * Reads only the header of an IDX file (gzipped or not) without loading the data. For an
 * uncompressed file it also checks the file size matches the header (truncated / trailing data).
 */
export function readIdxHeader(path: string): IdxFileHeader {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot read IDX file (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const probe = Buffer.alloc(Math.min(fileBytes, GZ_HEADER_PROBE));
    const got = fs.readSync(fd, probe, 0, probe.length, 0);
    const head = probe.subarray(0, got);
    if (got === 0) throw new Error(`${path}: file is empty, expected IDX data`);
    if (isGzip(head)) {
      return { ...gzipHeader(head, fileBytes <= GZ_HEADER_PROBE, path), path, gzip: true, fileBytes };
    }
    const h = parseIdxHeader(head, path);
    checkDataBytes(h, fileBytes - h.headerBytes, path);
    return { ...h, path, gzip: false, fileBytes };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads an IDX file, gzipped or not (detected from the content, not the name). */
export function loadIdx(path: string): Idx {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`${path}: cannot read IDX file (${code ?? (e as Error).message})`);
  }
  return parseIdx(buf, path);
}

/** Encodes values as IDX bytes (big-endian); `gzip: true` compresses them (no timestamp: same bytes every run). */
export function encodeIdx(idx: Idx, opts: { gzip?: boolean; level?: number } = {}): Buffer {
  const code = CODES[idx.dtype];
  if (code === undefined) throw new Error(`encodeIdx: unknown dtype ${JSON.stringify(idx.dtype)}`);
  const { shape, data } = idx;
  if (shape.length > 255) throw new Error(`encodeIdx: at most 255 dimensions, received ${shape.length}`);
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new RangeError(`encodeIdx: shape [${shape.join(', ')}] must hold integers in [0, 2^32)`);
    }
    count *= d;
  }
  if (data.length !== count) {
    throw new Error(`encodeIdx: data has ${data.length} values but shape [${shape.join(', ')}] needs ${count}`);
  }
  const bytes = TYPES[code].bytes;
  const out = Buffer.alloc(4 + 4 * shape.length + count * bytes);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const base = 4 + 4 * shape.length;
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  switch (idx.dtype) {
    case 'uint8': out.set(data, base); break; // converts like a Uint8Array store (a plain copy for bytes)
    case 'int8': new Int8Array(out.buffer, out.byteOffset + base, count).set(data); break;
    case 'int16': for (let i = 0; i < count; i++) view.setInt16(base + 2 * i, data[i], false); break;
    case 'int32': for (let i = 0; i < count; i++) view.setInt32(base + 4 * i, data[i], false); break;
    case 'float32': for (let i = 0; i < count; i++) view.setFloat32(base + 4 * i, data[i], false); break;
    case 'float64': for (let i = 0; i < count; i++) view.setFloat64(base + 8 * i, data[i], false); break;
  }
  return opts.gzip ? zlib.gzipSync(out, { level: opts.level ?? 9 }) : out;
}

/** Writes an IDX file; gzipped when `gzip` is set or the path ends in `.gz`. */
export function saveIdx(path: string, idx: Idx, opts: { gzip?: boolean; level?: number } = {}): void {
  fs.writeFileSync(path, encodeIdx(idx, { ...opts, gzip: opts.gzip ?? path.endsWith('.gz') }));
}
