// Shared by the oneroster-rest-*.test.ts files: credentials, canonical comparison and a pull helper.
import type { RosterEntity, RosterIssue, RosterRecord, RosterSourceSession, User } from '@rosterbridge/core';
import { recordDifferences } from '@rosterbridge/test-kit';

/** A consumer whose secret holds every character encodeURIComponent leaves alone. */
export const CONSUMER = { consumerKey: 'lincoln-usd-roster-app', consumerSecret: "Zq7!x'(s3cr3t)*-~" } as const;
export const OAUTH1 = { kind: 'oauth1', ...CONSUMER } as const;

/** Options that keep fault tests quick: tiny backoff, short timeouts. */
export const FAST_RETRIES = { backoff: { baseMs: 5, maxMs: 20 }, connectTimeoutMs: 2000, responseTimeoutMs: 2000 } as const;

/**
 * What a record should look like after a trip through a ClassLink-like server with its quirks on:
 * the same, except that users gain the FED identifier ClassLink puts first.
 */
export function afterClassLink<E extends RosterEntity>(entity: E, record: RosterRecord<E>): RosterRecord<E> {
  if (entity !== 'users') return record;
  const user = record as User;
  if (user.userIds.some((id) => id.type === 'FED')) return record;
  return { ...user, userIds: [{ type: 'FED', identifier: user.sourcedId }, ...user.userIds] } as RosterRecord<E>;
}

/** Reads one entity to the end through a source session. */
export async function pull<E extends RosterEntity>(
  session: RosterSourceSession,
  entity: E,
  options: { mode?: 'full' | 'delta'; since?: Date; batchSize?: number } = {},
) {
  const records: RosterRecord<E>[] = [];
  const issues: RosterIssue[] = [];
  let rowsRead = 0;
  let batches = 0;
  for await (const batch of session.read(entity, {
    mode: options.mode ?? 'full',
    ...(options.since ? { since: options.since } : {}),
    batchSize: options.batchSize ?? 100,
    signal: new AbortController().signal,
  })) {
    batches++;
    assertBatchShape(batch.records.length, batch.rowsRead, options.batchSize ?? 100);
    records.push(...batch.records);
    issues.push(...batch.issues);
    rowsRead += batch.rowsRead;
  }
  return { records, issues, rowsRead, batches };
}

function assertBatchShape(records: number, rowsRead: number, batchSize: number): void {
  if (rowsRead > batchSize || records > rowsRead) throw new Error(`a batch of ${records} records / ${rowsRead} rows breaks the batch size ${batchSize}`);
}

/** What a client read against what was served, record for record: at most `limit` differences. */
export function differences(actual: readonly RosterRecord[], expected: readonly RosterRecord[], limit = 5): string[] {
  return recordDifferences(actual, expected, limit);
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
