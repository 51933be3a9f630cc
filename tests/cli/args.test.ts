// The CLIs' shared argument helper (scripts/lib/args.ts): strict parsing with usage errors, negative numbers passed
// to the value checks instead of parseArgs' "ambiguous" refusal, and the same wording for bad numbers everywhere.
import { describe, expect, it } from 'vitest';
import { numberArg, parseCli, UsageError, wholeArg } from '../../scripts/lib/args';

const opts = { steps: { type: 'string' }, cfg: { type: 'string' }, json: { type: 'boolean' } } as const;

describe('parseCli', () => {
  it('parses flags and refuses unknown ones and stray positionals as usage errors', () => {
    expect(parseCli(['--steps', '4', '--json'], opts).values).toEqual({ steps: '4', json: true });
    expect(() => parseCli(['--nope'], opts)).toThrow(UsageError);
    expect(() => parseCli(['--nope'], opts)).toThrow(/Unknown option '--nope'/);
    expect(() => parseCli(['folder'], opts)).toThrow(UsageError);
    expect(parseCli(['folder'], opts, { positionals: true }).positionals).toEqual(['folder']);
  });
  it('hands a negative number to the value check, which says what is wrong with it', () => {
    const { values } = parseCli(['--steps', '-1', '--cfg', '-2.5'], opts);
    expect(values).toEqual({ steps: '-1', cfg: '-2.5' });
    expect(() => wholeArg('steps', values.steps, 1)).toThrow('--steps must be a whole number ≥ 1 (got "-1")');
    expect(numberArg('cfg', values.cfg)).toBe(-2.5);
  });
});

describe('value checks', () => {
  it('whole numbers: absent → undefined, below the minimum or not whole → a usage error', () => {
    expect(wholeArg('n', undefined, 0)).toBeUndefined();
    expect(wholeArg('n', '7', 0)).toBe(7);
    for (const bad of ['1.5', 'x', '', '-3']) expect(() => wholeArg('n', bad, 0)).toThrow(UsageError);
  });
  it('numbers: finite only', () => {
    expect(numberArg('cfg', '7.5')).toBe(7.5);
    for (const bad of ['', ' ', 'abc', 'Infinity']) expect(() => numberArg('cfg', bad)).toThrow(`--cfg must be a number (got "${bad}")`);
  });
});
