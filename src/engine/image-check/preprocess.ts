// CLIP image preprocessing for the safety checker, exactly as diffusers feeds it: the pipeline turns the decoded
// image into a uint8 PIL image (numpy_to_pil) and runs transformers' CLIPImageProcessor on it: convert to RGB, resize
// (shortest side → size, through PIL: 8-bit two-pass separable convolution in fixed point), center crop (zero
// padding when the image is smaller), rescale by 1/255 (float64, then float32), normalize with the config's mean/std
// in float32, channels first. Matching PIL's integer arithmetic matters: one level of difference after the resize
// is 0.015 after normalization, far above the 1e-4 the parity test allows.

import { AppError } from '../../shared/errors';

export interface ClipPreprocessConfig {
  resize: { shortestEdge: number } | { height: number; width: number } | null;
  crop: { height: number; width: number } | null;
  /** PIL resample filter code (2 bilinear, 3 bicubic). */
  resample: 2 | 3;
  rescale: number | null;
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
}

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * Reads a CLIPImageProcessor / CLIPFeatureExtractor `preprocessor_config.json` with transformers' defaults and its
 * legacy forms (`size: 224` = shortest edge, `crop_size: 224` = square). `file` names the file in messages.
 */
export function parsePreprocessorConfig(raw: unknown, file: string): ClipPreprocessConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(file, 'is not a JSON object');
  const o = raw as Record<string, unknown>;
  const flag = (k: string) => (o[k] === undefined ? true : o[k] === true ? true : o[k] === false ? false : bad(file, `${k} must be true or false`));
  const posInt = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4096) throw bad(file, `${what} must be a whole number from 1 to 4096 (got ${JSON.stringify(v)})`);
    return v;
  };
  let resize: ClipPreprocessConfig['resize'] = null;
  if (flag('do_resize')) {
    const s = o.size ?? { shortest_edge: 224 };
    if (typeof s === 'number') resize = { shortestEdge: posInt(s, 'size') };
    else if (s && typeof s === 'object' && 'shortest_edge' in s) resize = { shortestEdge: posInt((s as Record<string, unknown>).shortest_edge, 'size.shortest_edge') };
    else if (s && typeof s === 'object' && 'height' in s && 'width' in s) {
      const d = s as Record<string, unknown>;
      resize = { height: posInt(d.height, 'size.height'), width: posInt(d.width, 'size.width') };
    } else throw bad(file, 'size must be a number, {shortest_edge} or {height, width}');
  }
  let crop: ClipPreprocessConfig['crop'] = null;
  if (flag('do_center_crop')) {
    const c = o.crop_size ?? { height: 224, width: 224 };
    if (typeof c === 'number') crop = { height: posInt(c, 'crop_size'), width: posInt(c, 'crop_size') };
    else if (c && typeof c === 'object' && 'height' in c && 'width' in c) {
      const d = c as Record<string, unknown>;
      crop = { height: posInt(d.height, 'crop_size.height'), width: posInt(d.width, 'crop_size.width') };
    } else throw bad(file, 'crop_size must be a number or {height, width}');
  }
  const resample = o.resample ?? 3;
  if (resample !== 2 && resample !== 3) throw bad(file, `resample ${JSON.stringify(resample)} is not supported (2 bilinear or 3 bicubic)`);
  let rescale: number | null = null;
  if (flag('do_rescale')) {
    const r = o.rescale_factor ?? 1 / 255;
    if (typeof r !== 'number' || !(r > 0)) throw bad(file, 'rescale_factor must be a positive number');
    rescale = r;
  }
  const triple = (v: unknown, fallback: [number, number, number], what: string): [number, number, number] => {
    if (v === undefined) return fallback;
    if (typeof v === 'number') return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as [number, number, number];
    throw bad(file, `${what} must be a number or 3 numbers`);
  };
  const normalize = flag('do_normalize');
  const std = normalize ? triple(o.image_std, CLIP_STD, 'image_std') : null;
  if (std?.some((x) => x === 0)) throw bad(file, 'image_std must not contain 0');
  return { resize, crop, resample, rescale, mean: normalize ? triple(o.image_mean, CLIP_MEAN, 'image_mean') : null, std };
}

function bad(file: string, what: string): never {
  throw new AppError('BUNDLE_INVALID', `${file} ${what}`);
}

/** An 8-bit RGB image, interleaved (3 bytes per pixel). */
interface Rgb8 {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * RGBA bytes → the checker's `clip_input` for one image: float32 [3, cropH, cropW] (channels first). Alpha is
 * dropped (PIL's convert('RGB') of an opaque image; the engine's images are opaque).
 */
export function clipPixelValues(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, cfg: ClipPreprocessConfig): { data: Float32Array; height: number; width: number } {
  if (rgba.length !== width * height * 4) throw new AppError('INVALID_REQUEST', `image is ${rgba.length} bytes; ${width}×${height} RGBA needs ${width * height * 4}`);
  let img: Rgb8 = { width, height, data: new Uint8Array(width * height * 3) };
  for (let i = 0; i < width * height; i++) {
    img.data[i * 3] = rgba[i * 4];
    img.data[i * 3 + 1] = rgba[i * 4 + 1];
    img.data[i * 3 + 2] = rgba[i * 4 + 2];
  }
  if (cfg.resize) {
    const [h, w] = 'shortestEdge' in cfg.resize ? shortestEdgeSize(height, width, cfg.resize.shortestEdge) : [cfg.resize.height, cfg.resize.width];
    img = pilResize(img, w, h, cfg.resample);
  }
  if (cfg.crop) img = centerCrop(img, cfg.crop.height, cfg.crop.width);
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const mean = cfg.mean?.map(Math.fround);
  const std = cfg.std?.map(Math.fround);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      // rescale: uint8 × python float is float64 in numpy, then .astype(float32); normalize runs in float32.
      let v = cfg.rescale === null ? img.data[i * 3 + c] : Math.fround(img.data[i * 3 + c] * cfg.rescale);
      if (mean && std) v = Math.fround(Math.fround(v - mean[c]) / std[c]);
      out[c * n + i] = v;
    }
  }
  return { data: out, height: img.height, width: img.width };
}

/** transformers' get_resize_output_image_size(default_to_square=False): [height, width]. */
export function shortestEdgeSize(height: number, width: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

// ---- PIL's Image.resize for 8-bit images (libImaging/Resample.c), reproduced operation by operation ----

const PRECISION_BITS = 32 - 8 - 2;
const FILTERS: Record<2 | 3, { support: number; fn: (x: number) => number }> = {
  2: { support: 1, fn: (x) => (x < 0 ? -x : x) < 1 ? 1 - Math.abs(x) : 0 },
  3: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

interface Coeffs {
  bounds: Int32Array; // [xmin, count] per output pixel
  kk: Int32Array; // fixed-point coefficients, ksize per output pixel
  ksize: number;
}

function precomputeCoeffs(inSize: number, outSize: number, filter: 2 | 3): Coeffs {
  const { support: baseSupport, fn } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5); // C's (int) cast truncates toward zero
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? k[x] / ww : k[x]) : 0;
      // normalize_coeffs_8bpc: round half away from zero into 22-bit fixed point
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

function clip8(ss: number): number {
  const v = Math.floor(ss / (1 << PRECISION_BITS)); // arithmetic shift
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function pilResize(src: Rgb8, width: number, height: number, filter: 2 | 3): Rgb8 {
  if (width === src.width && height === src.height) return src; // PIL returns a copy without resampling
  let img = src;
  if (width !== img.width) {
    const { bounds, kk, ksize } = precomputeCoeffs(img.width, width, filter);
    const out = new Uint8Array(width * img.height * 3);
    for (let y = 0; y < img.height; y++) {
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2];
        const count = bounds[xx * 2 + 1];
        for (let c = 0; c < 3; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < count; x++) ss += img.data[(y * img.width + x + xmin) * 3 + c] * kk[xx * ksize + x];
          out[(y * width + xx) * 3 + c] = clip8(ss);
        }
      }
    }
    img = { width, height: img.height, data: out };
  }
  if (height !== img.height) {
    const { bounds, kk, ksize } = precomputeCoeffs(img.height, height, filter);
    const out = new Uint8Array(img.width * height * 3);
    for (let yy = 0; yy < height; yy++) {
      const ymin = bounds[yy * 2];
      const count = bounds[yy * 2 + 1];
      for (let x = 0; x < img.width; x++) {
        for (let c = 0; c < 3; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let y = 0; y < count; y++) ss += img.data[((y + ymin) * img.width + x) * 3 + c] * kk[yy * ksize + y];
          out[(yy * img.width + x) * 3 + c] = clip8(ss);
        }
      }
    }
    img = { width: img.width, height, data: out };
  }
  return img;
}

/** transformers' center_crop: floor-centred window; zero padding (centred, ceil) when the image is smaller. */
function centerCrop(src: Rgb8, cropH: number, cropW: number): Rgb8 {
  const newH = Math.max(cropH, src.height);
  const newW = Math.max(cropW, src.width);
  const padTop = Math.ceil((newH - src.height) / 2);
  const padLeft = Math.ceil((newW - src.width) / 2);
  const top = Math.floor((src.height - cropH) / 2) + padTop;
  const left = Math.floor((src.width - cropW) / 2) + padLeft;
  const y0 = Math.max(0, top);
  const y1 = Math.min(newH, top + cropH);
  const x0 = Math.max(0, left);
  const x1 = Math.min(newW, left + cropW);
  const out: Rgb8 = { width: x1 - x0, height: y1 - y0, data: new Uint8Array((x1 - x0) * (y1 - y0) * 3) };
  for (let y = y0; y < y1; y++) {
    const sy = y - padTop;
    if (sy < 0 || sy >= src.height) continue;
    for (let x = x0; x < x1; x++) {
      const sx = x - padLeft;
      if (sx < 0 || sx >= src.width) continue;
      const o = ((y - y0) * out.width + (x - x0)) * 3;
      const s = (sy * src.width + sx) * 3;
      out.data[o] = src.data[s];
      out.data[o + 1] = src.data[s + 1];
      out.data[o + 2] = src.data[s + 2];
    }
  }
  return out;
}
