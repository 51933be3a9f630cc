// Seeded standard-normal generator shared by the whole engine (initial latents, stochastic scheduler steps).
//
// Why hand-rolled: image reproducibility ("same seed, same picture") must hold across Node, every browser and
// every future version of this app, so nothing here may depend on Math.random, platform endianness or a library
// whose algorithm can change underneath us. The algorithm is frozen by a golden test (tests/schedulers/rng.test.ts);
// changing anything below changes every seeded image, so treat it as a file format.
//
// Algorithm (all integer math is 32-bit via Math.imul / >>> 0, no BigInt):
//   1. Seed: an integer 0 .. 2^53-1, split into lo = seed mod 2^32 and hi = floor(seed / 2^32).
//   2. State: a splitmix32 sequence started from mix32(lo ^ mix32(hi ^ GOLDEN)) gives the four 32-bit words of
//      xoshiro128** (an all-zero state, which xoshiro cannot leave, is replaced by a fixed constant).
//   3. Uniforms: each uniform takes two xoshiro128** outputs to build a 53-bit fraction in [0, 1).
//   4. Normals: Box–Muller in float64 on (u1, u2) with u1 mapped to (0, 1] so log() is finite; BOTH outputs
//      r·cos(2πu2) and r·sin(2πu2) are used, in that order.
// The float64 Box–Muller uses Math.log/sqrt/cos/sin. V8 (Node, Chrome, Edge) and SpiderMonkey both use fdlibm
// ports for these, so results are bit-identical there; an engine whose libm differed in the last float64 bit
// would only change a float32 output when that bit straddles a float32 rounding boundary (odds ~2^-29 per value).

const GOLDEN = 0x9e3779b9;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** The splitmix32 / murmur3 finalizer: a bijective 32-bit mixer. */
function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`seed must be an integer in [0, 2^53-1], got ${seed}`);
  }
}

/** xoshiro128** uniform source plus Box–Muller normals. */
export class SeededNormal {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second Box–Muller output waiting to be returned (null when none is pending). */
  private spare: number | null = null;

  constructor(seed: number) {
    checkSeed(seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    let sm = mix32(lo ^ mix32(hi ^ GOLDEN));
    const next = (): number => {
      sm = (sm + GOLDEN) >>> 0;
      return mix32(sm);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = GOLDEN;
  }

  /** One xoshiro128** output as an unsigned 32-bit integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits (27 high bits of one output, 26 of the next). */
  nextUniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** One standard-normal value (float64). */
  next(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = 1 - this.nextUniform(); // (0, 1]: log(u1) is finite
    const u2 = this.nextUniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills `out` with standard-normal draws (rounded to float32) and returns it. */
  fill(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.next();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** `n` standard-normal float32 values from a fresh generator seeded with `seed`. */
export function randn(seed: number, n: number): Float32Array {
  return new SeededNormal(seed).fill(new Float32Array(n));
}
