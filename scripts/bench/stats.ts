// Small statistics the bench reports: medians (outlier-proof centre), MAD/median and the coefficient of variation
// (noise gauges over repeated identical runs).

export const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median absolute deviation over the median. */
export const madRatio = (xs: number[]): number => {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m))) / m;
};

/** Standard deviation (n − 1) over the mean; 0 for a single run. */
export const cv = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(v) / mean;
};
