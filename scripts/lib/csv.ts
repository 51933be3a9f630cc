// CSV reading and writing for the Node CLIs (profile policy, guard eval): RFC 4180 with a header row, the dialect
// PSAlign's files use (pandas/Python csv: comma, double-quote quoting with "" inside, \n or \r\n line ends).
// Small and strict on purpose: a malformed file gets an error naming the row and line, never a silent misread.

export class CsvError extends Error {
  constructor(
    message: string,
    /** 1-based data row (the header is row 0), when the problem belongs to one. */
    readonly row?: number,
    /** 1-based line of the file where that row starts. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

interface RawRecord {
  fields: string[];
  line: number;
}

/** Split text into records of fields; quoted fields may hold commas, quotes ("") and line breaks. */
function splitRecords(text: string): RawRecord[] {
  const records: RawRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 BOM (Excel) is not part of the first column's name
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        quoted = true;
        i++;
        for (;;) {
          if (i >= text.length) throw new CsvError(`unterminated quoted field starting on line ${start}`, undefined, start);
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          value += ch;
          i++;
        }
        const next = text[i];
        if (i < text.length && next !== ',' && next !== '\n' && next !== '\r') {
          throw new CsvError(`line ${line}: unexpected text after a closing quote`, undefined, line);
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') throw new CsvError(`line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`, undefined, line);
          value += text[i];
          i++;
        }
      }
      fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      // End of record: \n, \r\n, a lone \r, or the end of the text.
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      break;
    }
    // Blank lines are skipped, as pandas does (a lone "" is a value, not a blank line).
    if (quoted || fields.length > 1 || fields[0] !== '') records.push({ fields, line: start });
  }
  return records;
}

export interface CsvTable {
  /** Header names in file order. */
  columns: string[];
  /** One record per data row, keyed by header name. */
  rows: Record<string, string>[];
  /** For each row, the 1-based line of the file where it starts. */
  lines: number[];
}

/** Parse a CSV with a header row, keeping the column order. */
export function parseCsvTable(text: string): CsvTable {
  const records = splitRecords(text);
  if (records.length === 0) throw new CsvError('the file is empty (expected a header row)');
  const columns = records[0].fields;
  const seen = new Set<string>();
  columns.forEach((name, k) => {
    if (name === '') throw new CsvError(`header column ${k + 1} has no name`, 0, records[0].line);
    if (seen.has(name)) throw new CsvError(`header names column "${name}" twice`, 0, records[0].line);
    seen.add(name);
  });
  const rows: Record<string, string>[] = [];
  const lines: number[] = [];
  records.slice(1).forEach((r, k) => {
    if (r.fields.length !== columns.length) {
      throw new CsvError(
        `row ${k + 1} (line ${r.line}) has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`,
        k + 1,
        r.line,
      );
    }
    // fromEntries defines own properties, so a column named "__proto__" is data like any other.
    rows.push(Object.fromEntries(columns.map((c, j) => [c, r.fields[j]])));
    lines.push(r.line);
  });
  return { columns, rows, lines };
}

/** Parse a CSV with a header row into one record per data row. */
export function parseCsv(text: string): Record<string, string>[] {
  return parseCsvTable(text).rows;
}

/** Quote a field when Python's csv (QUOTE_MINIMAL) would: it holds a comma, a quote or a line break. */
function formatField(value: string): string {
  return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
}

/**
 * Write rows as CSV with a header of `columns` (in that order), \n line ends and a final newline — what pandas'
 * to_csv(index=False) writes, so a file that came from pandas round-trips byte for byte. A missing value is an error.
 */
export function toCsv(rows: readonly Record<string, string>[], columns: readonly string[]): string {
  if (columns.length === 0) throw new CsvError('toCsv needs at least one column');
  const line = (cells: readonly string[]) =>
    // Python writes a lone empty field as "" so the row is not mistaken for a blank line.
    cells.length === 1 && cells[0] === '' ? '""' : cells.map(formatField).join(',');
  const out = [line(columns)];
  rows.forEach((row, k) => {
    out.push(
      line(
        columns.map((c) => {
          const v = Object.prototype.hasOwnProperty.call(row, c) ? row[c] : undefined;
          if (typeof v !== 'string') throw new CsvError(`row ${k + 1} has no value for column "${c}"`, k + 1);
          return v;
        }),
      ),
    );
  });
  return out.join('\n') + '\n';
}
