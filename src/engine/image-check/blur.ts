// The blur applied in the worker to a flagged image, so the page never receives its pixels: three box-blur passes
// per axis (≈ a Gaussian with σ ≈ radius·0.8; edges clamp) with a radius of 1/16 of the longer side (≥ 4 px) —
// strong enough that shapes become colour fields, not a privacy-grade guarantee against a determined viewer (the
// blurred bytes are all the UI ever has). Alpha is kept.

export function blurRadius(width: number, height: number): number {
  return Math.max(4, Math.round(Math.max(width, height) / 16));
}

/** Blurs RGBA bytes in place and returns them. */
export function blurRgba(rgba: Uint8ClampedArray, width: number, height: number, radius = blurRadius(width, height)): Uint8ClampedArray {
  const plane = new Float32Array(width * height);
  const tmp = new Float32Array(Math.max(width, height));
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane.length; i++) plane[i] = rgba[i * 4 + c];
    for (let pass = 0; pass < 3; pass++) {
      for (let y = 0; y < height; y++) boxLine(plane, y * width, 1, width, radius, tmp);
      for (let x = 0; x < width; x++) boxLine(plane, x, width, height, radius, tmp);
    }
    for (let i = 0; i < plane.length; i++) rgba[i * 4 + c] = Math.round(plane[i]);
  }
  return rgba;
}

/** One running-sum box filter along a line of `n` samples (stride `step`), clamped at the ends. */
function boxLine(a: Float32Array, start: number, step: number, n: number, r: number, tmp: Float32Array): void {
  const at = (i: number) => a[start + Math.min(n - 1, Math.max(0, i)) * step];
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += at(i);
  for (let i = 0; i < n; i++) {
    tmp[i] = sum / (2 * r + 1);
    sum += at(i + r + 1) - at(i - r);
  }
  for (let i = 0; i < n; i++) a[start + i * step] = tmp[i];
}
