// The contact sheet of `npm run eval -- --images N`: equal-size RGBA tiles laid out in row order (left to right,
// then down) on a near-square grid with a thin white gap, and the flat grey tile that stands for a blocked prompt
// (nothing was generated, so there is nothing to show). Pure pixel code; scripts/eval/images.ts writes the PNG.

/** Value of every colour channel of a blocked prompt's tile (mid grey, opaque). */
export const BLOCKED_GREY = 128;
/** Pixels of white between tiles (and none around the sheet). */
export const SHEET_GAP = 2;

export interface SheetLayout {
  cols: number;
  rows: number;
  width: number;
  height: number;
}

/** The grid for `count` tiles of `tileW`×`tileH`: ⌈√count⌉ columns, as many rows as needed. */
export function sheetLayout(count: number, tileW: number, tileH: number): SheetLayout {
  if (!Number.isInteger(count) || count < 1) throw new Error(`a contact sheet needs at least one tile (got ${count})`);
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  return { cols, rows, width: cols * tileW + (cols - 1) * SHEET_GAP, height: rows * tileH + (rows - 1) * SHEET_GAP };
}

/** Top-left pixel of tile `k` in the layout. */
export function tileOrigin(k: number, layout: SheetLayout, tileW: number, tileH: number): { x: number; y: number } {
  return { x: (k % layout.cols) * (tileW + SHEET_GAP), y: Math.floor(k / layout.cols) * (tileH + SHEET_GAP) };
}

/** A flat grey, opaque tile. */
export function greyTile(width: number, height: number): Uint8ClampedArray {
  const t = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < t.length; i += 4) {
    t[i] = t[i + 1] = t[i + 2] = BLOCKED_GREY;
    t[i + 3] = 255;
  }
  return t;
}

/** The sheet's RGBA: every tile must be `tileW`×`tileH`. */
export function contactSheet(tiles: readonly Uint8ClampedArray[], tileW: number, tileH: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  const layout = sheetLayout(tiles.length, tileW, tileH);
  const rgba = new Uint8ClampedArray(layout.width * layout.height * 4).fill(255);
  tiles.forEach((tile, k) => {
    if (tile.length !== tileW * tileH * 4) throw new Error(`tile ${k + 1} holds ${tile.length} bytes, not ${tileW}×${tileH} RGBA`);
    const { x, y } = tileOrigin(k, layout, tileW, tileH);
    for (let r = 0; r < tileH; r++) rgba.set(tile.subarray(r * tileW * 4, (r + 1) * tileW * 4), ((y + r) * layout.width + x) * 4);
  });
  return { rgba, width: layout.width, height: layout.height };
}
