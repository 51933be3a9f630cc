// The CLIs' CSV reader/writer: PSA's own file round-trips byte for byte; quoting, line ends and errors.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvError, parseCsv, parseCsvTable, toCsv } from '../../scripts/lib/csv';

describe('parseCsv / toCsv', () => {
  it("round-trips PSA's users.csv byte for byte", () => {
    const text = readFileSync(path.resolve(__dirname, '../../fixtures/psa/users.csv'), 'utf8');
    const t = parseCsvTable(text);
    expect(t.columns).toEqual(['Age', 'Age_Group', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition', 'Banned_Categories', 'Allowed_Categories']);
    expect(t.rows).toHaveLength(1001);
    expect(t.rows[0].Banned_Categories).toBe("['Propaganda', 'Sexuality']");
    expect(toCsv(t.rows, t.columns)).toBe(text);
  });

  it('reads quoted commas, doubled quotes, line breaks, CRLF, a BOM, and skips blank lines', () => {
    const t = parseCsvTable('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"two\nlines",\r\n');
    expect(t.columns).toEqual(['a', 'b']);
    expect(t.rows).toEqual([{ a: 'x, y', b: 'say "hi"' }, { a: 'two\nlines', b: '' }]);
    expect(t.lines).toEqual([2, 4]);
  });

  it('writes quotes only where needed and reads back what it wrote', () => {
    const rows = [{ a: 'plain', b: 'has,comma' }, { a: 'q"uote', b: 'line\nbreak' }, { a: '', b: ' sp ' }];
    const text = toCsv(rows, ['a', 'b']);
    expect(text).toBe('a,b\nplain,"has,comma"\n"q""uote","line\nbreak"\n, sp \n');
    expect(parseCsv(text)).toEqual(rows);
    expect(toCsv([{ a: '' }], ['a'])).toBe('a\n""\n');
    expect(parseCsv(toCsv([{ a: '' }], ['a']))).toEqual([{ a: '' }]);
  });

  it('keeps a column named __proto__ as data', () => {
    const [row] = parseCsv('__proto__,b\nx,y\n');
    expect(Object.keys(row)).toEqual(['__proto__', 'b']);
    expect(row.__proto__ as unknown).toBe('x');
  });

  it('names the row and line of malformed input', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow(/row 2 \(line 3\) has 1 field, the header has 2/);
    expect(() => parseCsv('a,b\n1,"2\n')).toThrow(/unterminated quoted field starting on line 2/);
    expect(() => parseCsv('a,b\n1,"2"x\n')).toThrow(/line 2: unexpected text after a closing quote/);
    expect(() => parseCsv('a,b\n1,2"\n')).toThrow(/line 2: a quote inside an unquoted field/);
    expect(() => parseCsv('a,a\n1,2\n')).toThrow(/column "a" twice/);
    expect(() => parseCsv('a,\n1,2\n')).toThrow(/header column 2 has no name/);
    expect(() => parseCsv('')).toThrow(CsvError);
    expect(() => toCsv([{ a: '1' }], ['a', 'b'])).toThrow(/row 1 has no value for column "b"/);
  });
});
