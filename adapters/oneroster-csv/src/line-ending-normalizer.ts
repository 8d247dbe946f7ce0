import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/**
 * A byte stream transform that turns CRLF line endings into LF, also inside quoted fields. The CSV
 * parser counts a quoted CRLF as two lines; after this it counts every line once, so issues can
 * name the right line. A CR that ends a chunk is held back until the next byte is known.
 */
export function createLineEndingNormalizer(): Transform {
  let heldCr = false;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      const input = heldCr ? Buffer.concat([Buffer.from([CR]), chunk]) : chunk;
      heldCr = input.length > 0 && input[input.length - 1] === CR;
      const end = heldCr ? input.length - 1 : input.length;
      const output = Buffer.allocUnsafe(end);
      let length = 0;
      for (let i = 0; i < end; i++) {
        const byte = input[i]!;
        if (byte === CR && i + 1 < input.length && input[i + 1] === LF) continue;
        output[length++] = byte;
      }
      callback(null, output.subarray(0, length));
    },
    flush(callback: TransformCallback): void {
      callback(null, heldCr ? Buffer.from([CR]) : undefined);
    },
  });
}
