// Seeded weights: one independent random stream per (seed, parameter name), so a parameter gets the same values
// whichever graph builds it and in whatever order (the plain U-Net shares every non-PSA weight with the PSA one).
// Integer-only PRNG (FNV-1a name hash → splitmix32 → sfc32) and uniform draws: no transcendental functions, so the
// bytes are identical on every run and machine.

/** FNV-1a 32-bit hash of a string (UTF-16 code units). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A stream of uniform floats in [0, 1) for one parameter. */
export function stream(seed: number, name: string): () => number {
  const sm = splitmix32(fnv1a(name) ^ Math.imul(seed >>> 0, 0x27d4eb2f));
  let a = sm(), b = sm(), c = sm(), d = sm();
  const next = (): number => {
    // sfc32
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return () => next() / 4294967296;
}

/** `n` float32 values drawn uniformly from [center - bound, center + bound). */
export function uniform(seed: number, name: string, n: number, bound: number, center = 0): Float32Array {
  const r = stream(seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = center + (2 * r() - 1) * bound;
  return out;
}

/** A source of named parameters for one model: PyTorch-style default inits (kaiming-uniform ≈ U(±1/√fan_in)). */
export class Params {
  constructor(readonly seed: number) {}
  /** Linear / conv weight with fan-in `fanIn`; `gain` scales the bound. */
  weight(name: string, n: number, fanIn: number, gain = 1): Float32Array {
    return uniform(this.seed, name, n, gain / Math.sqrt(fanIn));
  }
  bias(name: string, n: number, fanIn: number): Float32Array {
    return uniform(this.seed, name, n, 1 / Math.sqrt(fanIn));
  }
  /** Norm scale near 1 (trained norms are not exactly 1). */
  normWeight(name: string, n: number): Float32Array {
    return uniform(this.seed, name, n, 0.1, 1);
  }
  normBias(name: string, n: number): Float32Array {
    return uniform(this.seed, name, n, 0.05);
  }
  /** Embedding table entries U(±bound). */
  embedding(name: string, n: number, bound: number): Float32Array {
    return uniform(this.seed, name, n, bound);
  }
}
