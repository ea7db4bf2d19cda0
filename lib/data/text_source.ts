/**
 * Text read as a stream of chunks from a local file (a path or a file:// URL) or an http(s) URL,
 * decoded as UTF-8 across chunk boundaries. Only one chunk (64 KiB) is held at a time.
 */
import * as fs from 'fs';
import { StringDecoder } from 'string_decoder';
import { fileURLToPath } from 'url';
import { describe } from '../util';

export type TextSource = string | URL;

/** A readable description of the source for messages. */
export function sourceName(source: TextSource): string {
  return source instanceof URL ? source.href : source;
}

/** A local path for paths and file:// URLs; null for http(s) URLs. */
export function localPath(source: TextSource, fn: string): string | null {
  if (source instanceof URL) {
    if (source.protocol === 'file:') return fileURLToPath(source);
    if (source.protocol === 'http:' || source.protocol === 'https:') return null;
    throw new TypeError(`${fn}: unsupported URL protocol ${source.protocol} (use a path, file://, http:// or https://)`);
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new TypeError(`${fn}: source must be a file path or a file://, http:// or https:// URL, received ${describe(source)}`);
  }
  if (source.startsWith('file://')) {
    // As TF.js: what follows file:// is the path, relative ('file://./data.csv') or absolute
    // ('file:///tmp/data.csv'); a percent-encoded URL is decoded when the literal path is absent.
    const rest = source.slice('file://'.length);
    if (rest.length === 0) throw new TypeError(`${fn}: the file URL ${JSON.stringify(source)} names no file`);
    if (rest.includes('%') && rest.startsWith('/') && !fs.existsSync(rest)) {
      try {
        return fileURLToPath(source);
      } catch {
        // keep the literal path; reading it gives the error
      }
    }
    return rest;
  }
  if (/^https?:\/\//i.test(source)) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new TypeError(`${fn}: unsupported URL ${JSON.stringify(source)} (use a path, file://, http:// or https://)`);
  }
  return source;
}

/** The chunks of one pass over the source; `close()` stops reading early. */
export interface TextChunks {
  next(): Promise<string | null>;
  close(): void;
}

export async function openText(source: TextSource, fn: string): Promise<TextChunks> {
  const path = localPath(source, fn);
  const name = sourceName(source);
  const decoder = new StringDecoder('utf8');
  let body: AsyncIterator<Uint8Array>;
  let closeBody: () => void;
  if (path !== null) {
    const stream = fs.createReadStream(path, { highWaterMark: 1 << 16 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e) => reject(new Error(`${fn}: cannot read ${name} (${e.message})`)));
    });
    body = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    closeBody = () => stream.destroy();
  } else {
    let res: Response;
    try {
      res = await fetch(name);
    } catch (e) {
      throw new Error(`${fn}: cannot fetch ${name} (${(e as Error).message})`);
    }
    if (!res.ok || !res.body) throw new Error(`${fn}: cannot fetch ${name} (HTTP ${res.status} ${res.statusText})`);
    const reader = res.body.getReader();
    body = {
      next: async () => {
        const r = await reader.read();
        return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
      },
    };
    closeBody = () => void reader.cancel().catch(() => undefined);
  }
  let ended = false;
  let bom = true;
  return {
    async next() {
      while (!ended) {
        let r: IteratorResult<Uint8Array>;
        try {
          r = await body.next();
        } catch (e) {
          ended = true;
          closeBody();
          throw new Error(`${fn}: error while reading ${name} (${(e as Error).message})`);
        }
        let text: string;
        if (r.done) {
          ended = true;
          text = decoder.end();
        } else {
          text = decoder.write(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
        }
        if (bom && text.length > 0) {
          bom = false;
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        if (text.length > 0) return text;
      }
      return null;
    },
    close() {
      ended = true;
      closeBody();
    },
  };
}
