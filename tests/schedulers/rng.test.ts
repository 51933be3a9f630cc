// The seeded normal generator (src/engine/rng.ts): distribution sanity, determinism, and a golden prefix.
import { describe, expect, it } from 'vitest';
import { randn, SeededNormal } from '../../src/engine/rng';

describe('SeededNormal', () => {
  it('is standard normal over 1e5 draws (bounds are ~6 standard errors, so a broken generator fails)', () => {
    const x = randn(123, 100_000);
    const n = x.length;
    let mean = 0;
    for (const v of x) mean += v;
    mean /= n;
    let m2 = 0;
    let m4 = 0;
    let within1 = 0;
    for (const v of x) {
      const d = v - mean;
      m2 += d * d;
      m4 += d ** 4;
      if (Math.abs(v) < 1) within1++;
    }
    const variance = m2 / n;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.015);
    expect(Math.abs(m4 / n / variance ** 2 - 3)).toBeLessThan(0.1); // kurtosis of a normal
    expect(Math.abs(within1 / n - 0.682689)).toBeLessThan(0.009);
  });

  it('same seed gives the same stream; different seeds differ', () => {
    expect(randn(9, 1000)).toEqual(randn(9, 1000));
    expect(randn(9, 1000)).not.toEqual(randn(10, 1000));
    // the high 21 bits of the seed matter too
    expect(randn(2 ** 32, 16)).not.toEqual(randn(0, 16));
    expect(randn(Number.MAX_SAFE_INTEGER, 16)).not.toEqual(randn(Number.MAX_SAFE_INTEGER - 1, 16));
    // fill() continues the same stream as next()
    const g = new SeededNormal(4);
    const first = [g.next(), g.next(), g.next()];
    expect(Array.from(randn(4, 3))).toEqual(first.map(Math.fround));
  });

  it('rejects seeds outside 0 .. 2^53-1', () => {
    expect(() => new SeededNormal(-1)).toThrow(RangeError);
    expect(() => new SeededNormal(1.5)).toThrow(RangeError);
    expect(() => new SeededNormal(2 ** 53)).toThrow(RangeError);
  });

  it('golden prefix of seed 42 (frozen algorithm)', () => {
    // Computed once by this implementation and committed on purpose: seeded images must stay reproducible across
    // app versions, Node and browsers. If this test fails the generator changed and every saved seed now gives a
    // different picture; do not update these numbers unless that break is intended.
    const g = new SeededNormal(42);
    const values = Array.from({ length: 8 }, () => g.next());
    expect(values).toEqual([
      1.0689556156498072, -0.005501161164519562, 0.14099053502841466, 0.0028358813759556322, -0.20888696529746265,
      -0.018074203609257083, 2.2561108863607333, 0.23603731755988727,
    ]);
    expect(Array.from(randn(42, 8))).toEqual(values.map(Math.fround));
  });
});
