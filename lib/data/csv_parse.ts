/**
 * An incremental CSV parser (RFC 4180): text goes in chunk by chunk, complete records come out.
 *
 * - Fields are separated by `delimiter` (one character), or by runs of spaces and tabs when
 *   `delimWhitespace` is set (leading and trailing whitespace of a line is then ignored).
 * - A field that starts with a double quote is quoted: delimiters and line breaks inside it are
 *   data, and `""` stands for one `"`. Text between a closing quote and the next delimiter is
 *   kept (lenient, as TF.js).
 * - Records end at LF or CRLF; empty lines are skipped. A quoted field still open at the end of
 *   the input is an error naming the line it started on.
 *
 * Memory: the parser holds only the record being read (no matter how long the file is).
 */

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

export interface CsvParseOptions {
  delimiter?: string;
  delimWhitespace?: boolean;
}

const QUOTE = 34; // "
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

const enum State {
  /** At the start of a field (or of a record). */
  FieldStart,
  /** Inside an unquoted field. */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Just read a quote inside a quoted field: either "" or the closing quote. */
  QuoteInQuoted,
  /** After the closing quote, before the delimiter. */
  AfterQuoted,
  /** delimWhitespace only: inside a run of whitespace between fields. */
  Gap,
}

export class CsvParser {
  private readonly delim: number;
  private readonly ws: boolean;
  private state = State.FieldStart;
  /** Text of the current field read in earlier chunks. */
  private carry = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  /** Whether the current record holds anything (a field or a delimiter). */
  private started = false;

  constructor(options: CsvParseOptions = {}) {
    const d = options.delimiter ?? ',';
    this.ws = Boolean(options.delimWhitespace);
    this.delim = this.ws ? SPACE : d.charCodeAt(0);
  }

  private isDelim(c: number): boolean {
    return this.ws ? c === SPACE || c === TAB : c === this.delim;
  }

  private endField(value: string): void {
    this.fields.push(value);
    this.carry = '';
  }

  private endRecord(out: CsvRecord[]): void {
    if (this.started) out.push({ fields: this.fields, line: this.recordLine });
    this.fields = [];
    this.started = false;
    this.state = State.FieldStart;
  }

  /** Parses a chunk; returns the records it completed. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const n = text.length;
    let start = 0; // where the current field's text starts in this chunk
    let i = 0;
    while (i < n) {
      let c = text.charCodeAt(i);
      switch (this.state) {
        case State.FieldStart:
        case State.Gap:
          if (c === LF) {
            if (this.state === State.FieldStart && this.started && !this.ws) this.endField('');
            this.newLine(out);
          } else if (c === CR) {
            // part of CRLF (a bare CR outside quotes is dropped)
          } else if (this.ws && (c === SPACE || c === TAB)) {
            // leading whitespace or a run of separators
          } else if (!this.ws && c === this.delim) {
            this.started = true;
            this.endField('');
          } else if (c === QUOTE) {
            this.started = true;
            this.state = State.Quoted;
            start = i + 1;
          } else {
            this.started = true;
            this.state = State.Unquoted;
            start = i;
          }
          i++;
          break;
        case State.Unquoted:
          // scan to the end of the field
          while (c !== LF && c !== CR && !this.isDelim(c)) {
            if (++i === n) break;
            c = text.charCodeAt(i);
          }
          if (i === n) break;
          this.endField(this.carry + text.slice(start, i));
          if (c === LF) this.newLine(out);
          else if (c === CR) this.state = State.AfterQuoted; // the CR of CRLF: wait for the LF (or a delimiter)
          else this.state = this.ws ? State.Gap : State.FieldStart;
          i++;
          break;
        case State.Quoted:
          // scan to the next quote, counting line breaks
          while (c !== QUOTE) {
            if (c === LF) this.line++;
            if (++i === n) break;
            c = text.charCodeAt(i);
          }
          if (i === n) break;
          this.carry += text.slice(start, i);
          this.state = State.QuoteInQuoted;
          i++;
          break;
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.carry += '"';
            this.state = State.Quoted;
            start = i + 1;
            i++;
          } else {
            this.state = State.AfterQuoted;
            this.fields.push(this.carry);
            this.carry = '';
            // c is handled in AfterQuoted
          }
          break;
        case State.AfterQuoted:
          if (c === LF) {
            this.newLine(out);
          } else if (this.isDelim(c)) {
            this.state = this.ws ? State.Gap : State.FieldStart;
          } else if (c !== CR) {
            // lenient: text after a closing quote joins the field
            this.fields[this.fields.length - 1] += text[i];
          }
          i++;
          break;
      }
    }
    if (this.state === State.Unquoted || this.state === State.Quoted) this.carry += text.slice(start);
    return out;
  }

  /** A line break outside quotes: the record ends, the next one starts on the next line. */
  private newLine(out: CsvRecord[]): void {
    this.endRecord(out);
    this.line++;
    this.recordLine = this.line;
  }

  /** Ends the input; returns the last record if the text did not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    switch (this.state) {
      case State.Quoted:
        throw new Error(`unterminated quoted field: the quote opened on line ${this.recordLine} is never closed`);
      case State.QuoteInQuoted:
        this.endField(this.carry);
        break;
      case State.Unquoted:
        this.endField(this.carry);
        break;
      case State.FieldStart:
        if (this.started && !this.ws) this.endField('');
        break;
      default:
        break;
    }
    this.endRecord(out);
    return out;
  }
}
