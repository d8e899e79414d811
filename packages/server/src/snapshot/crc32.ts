// CRC-32 (IEEE) of a state-transfer chunk: zlib's where Node has it (20.15+), else a table in JS.
// It detects a torn or corrupted chunk on arrival; the stream's SHA-256 (snapshot-format.ts) checks the whole.

import * as zlib from "node:zlib";

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

let table: Uint32Array | undefined;

function jsCrc32(data: Uint8Array): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const crc32: (data: Uint8Array) => number = native ?? jsCrc32;
/** The JS fallback, exported so that a test can check it against zlib's. */
export { jsCrc32 };
