// The command-line argument helper the CLIs share (generate, convert, bench, eval, profile policy/embed, serve-bundle): Node's
// util.parseArgs in strict mode, with one error type for usage mistakes (the CLIs print it on one line and exit 2)
// and the same checks of numeric values everywhere, so every CLI words a bad flag the same way.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called (unknown flag, missing or malformed value): exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, strict, no positionals unless asked for. A negative number after a string flag (`--steps -1`) is passed
 * as that flag's value, so the value check can say what is wrong with it (parseArgs alone would call it ambiguous);
 * parseArgs' own errors become UsageErrors with its first line.
 */
export function parseCli<O extends Options>(argv: string[], options: O, o: { positionals?: boolean } = {}) {
  const args = [...argv];
  for (let k = 0; k < args.length - 1; k++) {
    const name = /^--([^=]+)$/.exec(args[k])?.[1];
    if (name && options[name]?.type === 'string' && /^-\d/.test(args[k + 1])) args.splice(k, 2, `--${name}=${args[k + 1]}`);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: o.positionals ?? false });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** A whole number ≥ `min` from a flag's text; undefined when the flag is absent. */
export function wholeArg(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got "${v}")`);
  return Number(v);
}

/** A finite number from a flag's text; undefined when the flag is absent. */
export function numberArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}")`);
  return n;
}
