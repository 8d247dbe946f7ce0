import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { csvLine } from './csv-line';

const CHUNK_CHARS = 64 * 1024;

/**
 * Streams a CSV file to disk: the header, then one line per row, in chunks of about 64 KiB. When
 * the file stream's buffer is full it waits for `drain`, so memory stays flat however many rows
 * there are. Resolves with the number of data rows once the file is flushed and closed.
 *
 * ```ts
 * const rows = await writeCsvFile('/tmp/x/users.csv', ['sourcedId', 'role'], users.map(toRow));
 * ```
 */
export async function writeCsvFile(
  path: string,
  header: readonly string[],
  rows: Iterable<readonly string[]> | AsyncIterable<readonly string[]>,
): Promise<number> {
  const stream = createWriteStream(path, { encoding: 'utf8' });
  let count = 0;
  try {
    let chunk = csvLine(header);
    for await (const row of rows) {
      chunk += csvLine(row);
      count++;
      if (chunk.length >= CHUNK_CHARS) {
        const flowing = stream.write(chunk);
        chunk = '';
        if (!flowing) await once(stream, 'drain');
      }
    }
    if (chunk.length > 0) stream.write(chunk);
    stream.end();
    await finished(stream);
  } catch (error) {
    stream.destroy();
    throw error;
  }
  return count;
}
