import { deflateSync } from "node:zlib";
import { crc32 } from "./zip.js";

/** An RGBA pixel. */
export type Rgba = readonly [number, number, number, number];

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit RGBA) of `size`×`size` pixels coloured by `pixel(x, y)`. */
export function png(size: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const rows = Buffer.alloc(size * (1 + size * 4));
  for (let y = 0; y < size; y++) {
    const at = y * (1 + size * 4);
    rows[at] = 0; // filter: none
    for (let x = 0; x < size; x++) rows.set(pixel(x, y), at + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** `#RRGGBB` as RGBA. */
export function hexColour(hex: string): Rgba {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 255];
}

/**
 * Teams' two icons: `color.png` 192×192 (a full-bleed accent square with a white megaphone-like
 * bar mark) and `outline.png` 32×32 (white on transparent, as Teams requires).
 */
export function defaultIcons(accent: string): { color: Buffer; outline: Buffer } {
  const bg = hexColour(accent);
  const white: Rgba = [255, 255, 255, 255];
  const clear: Rgba = [0, 0, 0, 0];
  // A simple "H": two uprights and a crossbar, in proportion to the icon.
  const mark = (x: number, y: number, s: number) => {
    const u = s / 8;
    const inY = y >= 2 * u && y < 6 * u;
    return inY && ((x >= 2 * u && x < 3 * u) || (x >= 5 * u && x < 6 * u) || (y >= 3.5 * u && y < 4.5 * u && x >= 2 * u && x < 6 * u));
  };
  return {
    color: png(192, (x, y) => (mark(x, y, 192) ? white : bg)),
    outline: png(32, (x, y) => (mark(x, y, 32) ? white : clear)),
  };
}
