/**
 * Image files <-> int32 tensors [height, width, channels], with tfjs-node's names and defaults.
 * The codecs are the pure-JS npm packages pngjs (PNG, any bit depth / colour type / interlace) and
 * jpeg-js (baseline and progressive JPEG in, baseline JPEG out); this file only converts channels
 * and checks arguments. BMP and GIF are recognised by their magic bytes and refused.
 */
import { Tensor } from '../tensor';
import { describe } from '../util';

interface PngMeta {
  width: number;
  height: number;
  data: Buffer;
  color: boolean;
  alpha: boolean;
  palette: unknown;
  colorType: number;
  transColor?: number[];
}
interface PngModule {
  PNG: {
    sync: {
      read(buf: Buffer, opts?: object): PngMeta;
      write(png: { width: number; height: number; data: Buffer }, opts: object): Buffer;
    };
  };
}
interface JpegModule {
  decode(buf: Uint8Array, opts: object): { width: number; height: number; data: Uint8Array };
  encode(img: { width: number; height: number; data: Uint8Array }, quality: number): { data: Buffer };
}
// Loaded on first use: training never needs them.
const png = (): PngModule => require('pngjs') as PngModule;
const jpeg = (): JpegModule => require('jpeg-js') as JpegModule;

/** Most pixels a file may declare before anything is allocated (jpeg-js's own default cap). */
export const MAX_IMAGE_PIXELS = 100 * 1000 * 1000;

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp';

/** The format named by the first bytes, or null. */
export function imageFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 4 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  return null;
}

function checkContents(contents: unknown, fn: string): Uint8Array {
  if (!(contents instanceof Uint8Array)) {
    throw new TypeError(`${fn}: contents must be a Uint8Array (e.g. fs.readFileSync(file)), received ${describe(contents)}`);
  }
  return contents;
}

function checkChannels(channels: unknown, fn: string, allowed: number[]): number {
  if (typeof channels !== 'number' || !allowed.includes(channels)) {
    throw new RangeError(`${fn}: channels must be one of ${allowed.join(', ')} (0 = as stored in the file), received ${describe(channels)}`);
  }
  return channels;
}

function checkDtype(dtype: unknown, fn: string): void {
  if (dtype !== 'int32') throw new Error(`${fn}: dtype must be 'int32' (the only dtype tfjs-node decodes to), received ${describe(dtype)}`);
}

const luma = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b);

/**
 * RGBA bytes (4 per pixel) to c channels. srcColor says whether the file held colour (else
 * R = G = B already); alpha is dropped or kept as asked. out is (h*w, c), rgba is (h*w, 4).
 */
function fromRgba(rgba: Uint8Array, pixels: number, c: number, srcColor: boolean): Int32Array {
  const out = new Int32Array(pixels * c);
  for (let p = 0, o = 0; p < pixels; p++) {
    const r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2], a = rgba[4 * p + 3];
    if (c === 1 || c === 2) {
      out[o++] = srcColor ? luma(r, g, b) : r;
      if (c === 2) out[o++] = a;
    } else {
      out[o++] = r; out[o++] = g; out[o++] = b;
      if (c === 4) out[o++] = a;
    }
  }
  return out;
}

/** PNG bytes -> int32 [h, w, c]; c from the file (gray 1, gray+alpha 2, RGB / palette 3, with alpha 4) unless channels is given. */
export function decodePng(contents: Uint8Array, channels = 0, dtype: 'int32' = 'int32'): Tensor<'int32'> {
  const fn = 'decodePng';
  const b = checkContents(contents, fn);
  checkChannels(channels, fn, [0, 1, 2, 3, 4]);
  checkDtype(dtype, fn);
  if (imageFormat(b) !== 'png') throw new Error(`${fn}: the contents are not a PNG file (no PNG signature)`);
  if (b.length >= 24) checkPixels(readU32BE(b, 16), readU32BE(b, 20), fn);
  let meta: PngMeta;
  try {
    meta = png().PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.length));
  } catch (e) {
    throw new Error(`${fn}: invalid or corrupt PNG data: ${(e as Error).message}`);
  }
  const hasAlpha = meta.alpha || (meta.colorType & 4) !== 0 || meta.transColor !== undefined;
  const color = meta.color || (meta.colorType & 1) !== 0;
  const c = channels || (color ? 3 : 1) + (hasAlpha ? 1 : 0);
  const values = fromRgba(meta.data, meta.width * meta.height, c, color);
  return new Tensor(values, [meta.height, meta.width, c], 'int32');
}

/**
 * JPEG bytes -> int32 [h, w, c]; c from the file (1 for grayscale, else 3) unless channels is
 * given. tfjs-node's ratio / fancyUpscaling / acceptableFraction / dctMethod tuning does not
 * exist in jpeg-js: only their defaults are accepted. tryRecoverTruncated decodes a file whose
 * scan data ends early (the missing blocks come out grey).
 */
export function decodeJpeg(
  contents: Uint8Array, channels = 0, ratio = 1, fancyUpscaling = true, tryRecoverTruncated = false,
  acceptableFraction = 1, dctMethod = '',
): Tensor<'int32'> {
  const fn = 'decodeJpeg';
  const b = checkContents(contents, fn);
  checkChannels(channels, fn, [0, 1, 3]);
  if (ratio !== 1) throw new Error(`${fn}: ratio must be 1 (downscaled decoding is not supported), received ${describe(ratio)}`);
  if (fancyUpscaling !== true) throw new Error(`${fn}: fancyUpscaling must be true (the only chroma upsampling jpeg-js does), received ${describe(fancyUpscaling)}`);
  if (typeof tryRecoverTruncated !== 'boolean') throw new TypeError(`${fn}: tryRecoverTruncated must be a boolean, received ${describe(tryRecoverTruncated)}`);
  if (acceptableFraction !== 1) throw new Error(`${fn}: acceptableFraction must be 1, received ${describe(acceptableFraction)}`);
  if (dctMethod !== '') throw new Error(`${fn}: dctMethod must be '' (jpeg-js has one IDCT), received ${describe(dctMethod)}`);
  if (imageFormat(b) !== 'jpeg') throw new Error(`${fn}: the contents are not a JPEG file (no SOI marker)`);
  const frame = jpegFrame(b);
  if (!frame) throw new Error(`${fn}: invalid or corrupt JPEG data: no frame header (SOF) found`);
  checkPixels(frame.width, frame.height, fn);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg().decode(b, { useTArray: true, formatAsRGBA: true, tolerantDecoding: tryRecoverTruncated, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
  } catch (e) {
    throw new Error(`${fn}: invalid or corrupt JPEG data: ${(e as Error).message}`);
  }
  if (!(img.width > 0 && img.height > 0)) throw new Error(`${fn}: invalid or corrupt JPEG data: the image is empty`);
  const c = channels || (frame.components === 1 ? 1 : 3);
  return new Tensor(fromRgba(img.data, img.width * img.height, c, frame.components !== 1), [img.height, img.width, c], 'int32');
}

/**
 * PNG or JPEG bytes (picked by the magic bytes) -> int32 [h, w, c]. channels: 0 (as stored), 1,
 * 3 or 4. expandAnimations only matters for GIF, which is refused.
 */
export function decodeImage(contents: Uint8Array, channels = 0, dtype: 'int32' = 'int32', expandAnimations = true): Tensor<'int32'> {
  const fn = 'decodeImage';
  const b = checkContents(contents, fn);
  checkChannels(channels, fn, [0, 1, 3, 4]);
  checkDtype(dtype, fn);
  if (typeof expandAnimations !== 'boolean') throw new TypeError(`${fn}: expandAnimations must be a boolean, received ${describe(expandAnimations)}`);
  const f = imageFormat(b);
  if (f === 'png') return decodePng(b, channels);
  if (f === 'jpeg') {
    if (channels !== 4) return decodeJpeg(b, channels);
    const rgb = decodeJpeg(b, 3);
    return addOpaqueAlpha(rgb);
  }
  if (f === 'gif' || f === 'bmp') throw new Error(`${fn}: ${f.toUpperCase()} images are not supported (PNG and JPEG are)`);
  const head = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${fn}: expected a PNG or JPEG image, but got an unsupported image type (first bytes: ${head || 'none'})`);
}

function addOpaqueAlpha(rgb: Tensor<'int32'>): Tensor<'int32'> {
  const [h, w] = rgb.shape;
  const v = rgb.values;
  const out = new Int32Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    out[4 * p] = v[3 * p]; out[4 * p + 1] = v[3 * p + 1]; out[4 * p + 2] = v[3 * p + 2]; out[4 * p + 3] = 255;
  }
  return new Tensor(out, [h, w, 4], 'int32');
}

/** The image tensor [h, w, c] as RGBA bytes; values must be integers in [0, 255]. */
function toRgba(image: unknown, fn: string, allowed: number[]): { rgba: Uint8Array; h: number; w: number; c: number } {
  if (!(image instanceof Tensor)) throw new TypeError(`${fn}: image must be a Tensor3D [height, width, channels], received ${describe(image)}`);
  if (image.rank !== 3) throw new Error(`${fn}: image must be rank 3 [height, width, channels], but got rank ${image.rank}`);
  const [h, w, c] = image.shape;
  if (!allowed.includes(c)) throw new Error(`${fn}: image must have ${allowed.join(', ')} channels, but has ${c}`);
  if (h === 0 || w === 0) throw new Error(`${fn}: image [${h}, ${w}, ${c}] is empty`);
  const v = image.values;
  const rgba = new Uint8Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < c; k++) {
      const x = v[p * c + k];
      if (!(x >= 0 && x <= 255 && Number.isInteger(x))) {
        throw new RangeError(`${fn}: pixel values must be integers in [0, 255], found ${x} at flat index ${p * c + k}`);
      }
    }
    const g = c <= 2;
    rgba[4 * p] = v[p * c];
    rgba[4 * p + 1] = g ? v[p * c] : v[p * c + 1];
    rgba[4 * p + 2] = g ? v[p * c] : v[p * c + 2];
    rgba[4 * p + 3] = c === 2 ? v[p * c + 1] : c === 4 ? v[p * c + 3] : 255;
  }
  return { rgba, h, w, c };
}

const asU8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** int32 [h, w, c] (c = 1, 2, 3 or 4) -> PNG bytes. compression: -1 (zlib's default) or 0..9. */
export async function encodePng(image: Tensor, compression = 1): Promise<Uint8Array> {
  const fn = 'encodePng';
  if (typeof compression !== 'number' || !Number.isInteger(compression) || compression < -1 || compression > 9) {
    throw new RangeError(`${fn}: compression must be an integer in [-1, 9], received ${describe(compression)}`);
  }
  const { rgba, h, w, c } = toRgba(image, fn, [1, 2, 3, 4]);
  const colorType = [0, 0, 4, 2, 6][c];
  const out = png().PNG.sync.write({ width: w, height: h, data: Buffer.from(rgba.buffer) }, {
    colorType, inputColorType: 6, inputHasAlpha: true, bitDepth: 8, deflateLevel: compression === -1 ? 6 : compression,
  });
  return asU8(out);
}

export type JpegFormat = '' | 'grayscale' | 'rgb';

/**
 * int32 [h, w, c] (c = 1 or 3) -> baseline JPEG bytes (quality 0..100). jpeg-js writes
 * three-component 4:4:4 files, so a grayscale image decodes back with 3 equal channels unless
 * decoded with channels = 1; format 'grayscale' (a one-component file) is refused. tfjs-node's
 * later arguments (progressive, optimizeSize, chromaDownsampling, density, XMP) are not supported:
 * only their defaults are accepted.
 */
export async function encodeJpeg(
  image: Tensor, format: JpegFormat = '', quality = 95, progressive = false, optimizeSize = false,
  chromaDownsampling = true, densityUnit: 'in' | 'cm' = 'in', xDensity = 300, yDensity = 300, xmpMetadata = '',
): Promise<Uint8Array> {
  const fn = 'encodeJpeg';
  if (format !== '' && format !== 'rgb' && format !== 'grayscale') throw new Error(`${fn}: format must be '', 'grayscale' or 'rgb', received ${describe(format)}`);
  if (format === 'grayscale') throw new Error(`${fn}: format 'grayscale' (a one-component JPEG) is not supported by the jpeg-js encoder; use '' or 'rgb'`);
  if (typeof quality !== 'number' || !Number.isInteger(quality) || quality < 0 || quality > 100) {
    throw new RangeError(`${fn}: quality must be an integer in [0, 100], received ${describe(quality)}`);
  }
  const defaults: Array<[string, unknown, unknown]> = [
    ['progressive', progressive, false], ['optimizeSize', optimizeSize, false], ['chromaDownsampling', chromaDownsampling, true],
    ['densityUnit', densityUnit, 'in'], ['xDensity', xDensity, 300], ['yDensity', yDensity, 300], ['xmpMetadata', xmpMetadata, ''],
  ];
  for (const [name, v, d] of defaults) {
    if (v !== d) throw new Error(`${fn}: ${name} is not supported by the jpeg-js encoder (only the default ${describe(d)}), received ${describe(v)}`);
  }
  const { rgba, h, w } = toRgba(image, fn, format === 'rgb' ? [3] : [1, 3]);
  return asU8(jpeg().encode({ width: w, height: h, data: rgba }, quality).data);
}

// ---------------------------------------------------------------- headers

function readU32BE(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}

function checkPixels(w: number, h: number, fn: string): void {
  if (w * h > MAX_IMAGE_PIXELS) throw new RangeError(`${fn}: the image is ${w}x${h}, more than the ${MAX_IMAGE_PIXELS} pixels accepted`);
}

/** Size and component count from the first SOFn marker, walking the marker segments. */
export function jpegFrame(b: Uint8Array): { width: number; height: number; components: number } | null {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return null;
    const m = b[o + 1];
    if (m === 0xff) { o++; continue; }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { o += 2; continue; }
    const len = (b[o + 2] << 8) | b[o + 3];
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (o + 10 > b.length) return null;
      return { height: (b[o + 5] << 8) | b[o + 6], width: (b[o + 7] << 8) | b[o + 8], components: b[o + 9] };
    }
    if (m === 0xda || m === 0xd9 || len < 2) return null;
    o += 2 + len;
  }
  return null;
}
