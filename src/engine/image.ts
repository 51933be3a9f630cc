// Pixels: the VAE's [-1,1] CHW output → RGBA bytes exactly as diffusers' postprocess + numpy_to_pil
// ((x/2+0.5).clamp(0,1) · 255, rounded half to even like numpy), and the cheap per-step preview: a fixed linear
// map from SD1.5's 4 latent channels to RGB (no VAE run per step).

export function vaeToRgba(chw: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      // float32 math as torch does it, then numpy's round-half-to-even on the ×255 value.
      let v = Math.fround(Math.fround(chw[c * n + i] / 2) + 0.5);
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      out[i * 4 + c] = roundHalfEven(Math.fround(v * 255));
    }
  }
  for (let i = 0; i < n; i++) out[i * 4 + 3] = 255;
  return out;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Approximate RGB contribution of each SD1.5 latent channel (a widely used linear fit of the VAE). */
const LATENT_RGB = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
];

/** Latents [4,h,w] → RGBA [h,w] preview. */
export function latentPreview(latents: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += LATENT_RGB[k][c] * latents[k * n + i];
      out[i * 4 + c] = Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}
