/**
 * `tf.data.csv(source, config)`: the rows of a CSV file as a Dataset, streamed (a pass holds one
 * 64 KiB chunk and one record, whatever the file size), with TF.js's options and element shapes:
 * a plain object {column: value} per row, or {xs: {...features}, ys: {...labels}} when some
 * column is configured with `isLabel`.
 *
 * Values: a number when the text is numeric (int32 columns are floored, bool columns give 1 for
 * "1"/"true" and 0 otherwise), the text itself when it is not (unless the column's dtype is
 * numeric, which is an error naming the column and line), `default` or undefined when empty
 * (an error for `required` and label columns).
 */
import { describe } from '../util';
import { CsvParser, CsvRecord } from './csv_parse';
import { Dataset } from './dataset';
import { LazyIterator, Result, done } from './lazy_iterator';
import { TextChunks, TextSource, localPath, openText, sourceName } from './text_source';

export type ColumnDType = 'float32' | 'int32' | 'bool' | 'string';

export interface ColumnConfig {
  /** An empty value is an error (default false). */
  required?: boolean;
  /** How values are parsed (default: numbers where the text is numeric, else strings). */
  dtype?: ColumnDType;
  /** The value used when the field is empty. */
  default?: number | string | boolean;
  /** The column goes to `ys` (the element becomes {xs, ys}). */
  isLabel?: boolean;
}

export interface CSVConfig {
  /** The first line holds the column names (default true). */
  hasHeader?: boolean;
  /** Column names; required without a header, and must match the header's length with one. */
  columnNames?: string[];
  /** Per-column parsing and label settings, keyed by column name. */
  columnConfigs?: { [key: string]: ColumnConfig };
  /** Only the columns in columnConfigs appear in the elements (default false). */
  configuredColumnsOnly?: boolean;
  /** Field separator, one character (default ','). */
  delimiter?: string;
  /** Fields are separated by runs of spaces / tabs (do not also pass a delimiter). */
  delimWhitespace?: boolean;
}

export type CsvValue = number | string | boolean | undefined;
export type CsvRow = { [column: string]: CsvValue };
export type CsvElement = CsvRow | { xs: CsvRow; ys: CsvRow };

const FN = 'tf.data.csv()';
const DTYPES: ColumnDType[] = ['float32', 'int32', 'bool', 'string'];
const CONFIG_KEYS = ['hasHeader', 'columnNames', 'columnConfigs', 'configuredColumnsOnly', 'delimiter', 'delimWhitespace'];
const COLUMN_KEYS = ['required', 'dtype', 'default', 'isLabel'];

function checkConfig(config: CSVConfig): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`${FN}: config must be an object, received ${describe(config)}`);
  }
  for (const k of Object.keys(config)) {
    if (!CONFIG_KEYS.includes(k)) throw new TypeError(`${FN}: unknown option ${JSON.stringify(k)} (known: ${CONFIG_KEYS.join(', ')})`);
  }
  if (config.delimWhitespace && config.delimiter != null) {
    throw new Error('Delimiter should not be provided when delimWhitespace is true.');
  }
  if (config.delimiter != null && (typeof config.delimiter !== 'string' || config.delimiter.length !== 1 || config.delimiter === '"' || config.delimiter === '\n' || config.delimiter === '\r')) {
    throw new TypeError(`${FN}: delimiter must be one character other than a quote or a line break, received ${describe(config.delimiter)}`);
  }
  if (config.columnNames != null && (!Array.isArray(config.columnNames) || config.columnNames.some((c) => typeof c !== 'string'))) {
    throw new TypeError(`${FN}: columnNames must be an array of strings, received ${describe(config.columnNames)}`);
  }
  const cc = config.columnConfigs;
  if (cc != null) {
    if (typeof cc !== 'object' || Array.isArray(cc)) throw new TypeError(`${FN}: columnConfigs must be an object keyed by column name, received ${describe(cc)}`);
    for (const [name, c] of Object.entries(cc)) {
      if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new TypeError(`${FN}: columnConfigs.${name} must be an object, received ${describe(c)}`);
      for (const k of Object.keys(c)) {
        if (!COLUMN_KEYS.includes(k)) throw new TypeError(`${FN}: columnConfigs.${name}: unknown option ${JSON.stringify(k)} (known: ${COLUMN_KEYS.join(', ')})`);
      }
      if (c.dtype !== undefined && !DTYPES.includes(c.dtype)) {
        throw new TypeError(`${FN}: columnConfigs.${name}.dtype must be one of ${DTYPES.map((d) => `'${d}'`).join(', ')}, received ${describe(c.dtype)}`);
      }
    }
  }
  if (config.configuredColumnsOnly && cc == null) throw new Error(`${FN}: configuredColumnsOnly needs columnConfigs`);
}

function preview(fields: string[], delim: string): string {
  const s = fields.join(delim);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

export class CSVDataset extends Dataset<CsvElement> {
  private readonly hasHeader: boolean;
  private readonly configuredColumnsOnly: boolean;
  private readonly delimiter: string;
  private readonly delimWhitespace: boolean;
  private readonly columnConfigs: { [key: string]: ColumnConfig } | null;
  private fullColumnNames: string[] | null;
  private validated = false;

  constructor(
    readonly input: TextSource,
    config: CSVConfig = {},
  ) {
    super();
    localPath(input, FN); // a bad source type or protocol fails here, not at the first pass
    checkConfig(config ?? {});
    const c = config ?? {};
    this.hasHeader = c.hasHeader !== false;
    this.fullColumnNames = c.columnNames ? c.columnNames.slice() : null;
    this.columnConfigs = c.columnConfigs ?? null;
    this.configuredColumnsOnly = Boolean(c.configuredColumnsOnly);
    this.delimWhitespace = Boolean(c.delimWhitespace);
    this.delimiter = this.delimWhitespace ? ' ' : (c.delimiter ?? ',');
    if (!this.hasHeader && !this.fullColumnNames) throw new Error('Column names must be provided if there is no header line.');
  }

  private get name(): string {
    return sourceName(this.input);
  }

  /** The columns of the elements, in file order (only the configured ones with configuredColumnsOnly). */
  async columnNames(): Promise<string[]> {
    await this.setColumnNames();
    return this.configuredColumnsOnly ? Object.keys(this.columnConfigs!) : this.fullColumnNames!.slice();
  }

  private parser(): CsvParser {
    return new CsvParser({ delimiter: this.delimiter, delimWhitespace: this.delimWhitespace });
  }

  /** Reads the header (when there is one) and checks names and columnConfigs against it. */
  private async setColumnNames(): Promise<void> {
    if (this.validated) return;
    let header: string[] | null = null;
    if (this.hasHeader) {
      const text = await openText(this.input, FN);
      try {
        header = await firstRecord(text, this.parser());
      } finally {
        text.close();
      }
      if (!header) throw new Error(`No data was found for CSV parsing (${this.name} is empty).`);
    }
    if (this.fullColumnNames && header && header.length !== this.fullColumnNames.length) {
      throw new Error(
        `The length of provided columnNames (${this.fullColumnNames.length}) does not match the length of the header line read from file (${header.length}).`,
      );
    }
    const names = this.fullColumnNames ?? header!;
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const n of names) (seen.has(n) ? dup : seen).add(n);
    if (dup.size) throw new Error(`Duplicate column names found: ${[...dup].join(',')}`);
    for (const key of Object.keys(this.columnConfigs ?? {})) {
      if (!seen.has(key)) {
        throw new Error(`The key "${key}" provided in columnConfigs does not match any of the column names (${names.join(',')}).`);
      }
    }
    this.fullColumnNames = names;
    this.validated = true;
  }

  override async iterator(): Promise<LazyIterator<CsvElement>> {
    await this.setColumnNames();
    return new CsvIterator(this, await openText(this.input, FN), this.parser(), this.hasHeader);
  }

  /** Turns one record into an element (TF.js's makeDataElement). */
  makeElement(rec: CsvRecord): CsvElement {
    const names = this.fullColumnNames!;
    const values = rec.fields;
    const where = () => `(${this.name}, line ${rec.line})`;
    if (values.length !== names.length) {
      throw new Error(
        `Invalid row in csv file. Should have ${names.length} elements in a row, but got ${values.length}: ${preview(values, this.delimiter)} ${where()}`,
      );
    }
    const features: CsvRow = {};
    const labels: CsvRow = {};
    let hasLabels = false;
    for (let i = 0; i < names.length; i++) {
      const key = names[i];
      const config = this.columnConfigs ? this.columnConfigs[key] : undefined;
      if (this.configuredColumnsOnly && !config) continue;
      const text = values[i];
      let value: CsvValue;
      if (text === '') {
        if (config && config.default !== undefined) value = config.default;
        else if (config && (config.required || config.isLabel)) {
          throw new Error(`Required column ${key} is empty in this line: ${preview(values, this.delimiter)} ${where()}`);
        } else value = undefined;
      } else if (config?.dtype === 'string') {
        value = text;
      } else if (config?.dtype === 'bool') {
        value = text === '1' || text.toLowerCase() === 'true' ? 1 : 0;
      } else {
        const num = Number(text);
        if (Number.isNaN(num)) {
          if (config?.dtype === 'float32' || config?.dtype === 'int32') {
            throw new Error(`Column ${key} (dtype ${config.dtype}) has a value that is not a number: ${JSON.stringify(text)} ${where()}`);
          }
          value = text;
        } else {
          value = config?.dtype === 'int32' ? Math.floor(num) : num;
        }
      }
      if (config?.isLabel) {
        labels[key] = value;
        hasLabels = true;
      } else {
        features[key] = value;
      }
    }
    return hasLabels ? { xs: features, ys: labels } : features;
  }
}

async function firstRecord(text: TextChunks, parser: CsvParser): Promise<string[] | null> {
  for (;;) {
    const chunk = await text.next();
    const recs = chunk === null ? parser.end() : parser.push(chunk);
    if (recs.length) return recs[0].fields;
    if (chunk === null) return null;
  }
}

/** One pass over the file: chunks -> records -> elements. */
class CsvIterator extends LazyIterator<CsvElement> {
  private queue: CsvRecord[] = [];
  private at = 0;
  private ended = false;
  constructor(
    private readonly ds: CSVDataset,
    private readonly text: TextChunks,
    private readonly parser: CsvParser,
    private skipHeader: boolean,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<CsvElement>> {
    for (;;) {
      while (this.at < this.queue.length) {
        const rec = this.queue[this.at++];
        if (this.skipHeader) {
          this.skipHeader = false;
          continue;
        }
        try {
          return { value: this.ds.makeElement(rec), done: false };
        } catch (e) {
          this.close();
          throw e;
        }
      }
      if (this.ended) return done();
      let chunk: string | null;
      try {
        chunk = await this.text.next();
        this.queue = chunk === null ? this.parser.end() : this.parser.push(chunk);
      } catch (e) {
        this.close();
        const err = e as Error;
        if (!err.message.startsWith(FN)) err.message = `${FN}: ${sourceName(this.ds.input)}: ${err.message}`;
        throw err;
      }
      this.at = 0;
      if (chunk === null) {
        this.ended = true;
        this.text.close();
      }
    }
  }
  protected override async close(): Promise<void> {
    this.ended = true;
    this.queue = [];
    this.at = 0;
    this.text.close();
  }
}

/**
 * Reads a CSV file (a path, a file:// URL, or an http(s) URL) as a Dataset of rows, streamed.
 * See CSVConfig for the options (TF.js's names and defaults).
 */
export function csv(source: TextSource, config: CSVConfig = {}): CSVDataset {
  return new CSVDataset(source, config);
}
