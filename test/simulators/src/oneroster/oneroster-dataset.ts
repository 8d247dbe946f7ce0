import { openCsvPackage } from '@rosterbridge/oneroster-csv';
import { ROSTER_ENTITY_ORDER, type RosterEntity, type RosterIssue, type RosterRecord } from '@rosterbridge/core';
import type { RosterRecordSource } from '@rosterbridge/district-generator';

/**
 * The roster a simulator serves, held in memory: canonical records per entity, kept in sourcedId
 * order. Changing it (put, remove) is seen by the next request.
 *
 * ```ts
 * const dataset = OneRosterDataset.from(generateDistrict({ seed: 42, size: 'small' }));
 * const fromCsv = await OneRosterDataset.fromCsvPackage('test/fixtures/oneroster-csv/clean-full');
 * ```
 */
export class OneRosterDataset {
  private readonly byEntity = new Map<RosterEntity, Map<string, RosterRecord>>();
  private readonly sorted = new Map<RosterEntity, RosterRecord[]>();
  private changes = 0;

  /** Issues met while loading (a CSV package's bad rows); the records they reject are not served. */
  readonly loadIssues: RosterIssue[] = [];

  /** A dataset of every record `source` yields (a generated district, a changed district…). */
  static from(source: RosterRecordSource): OneRosterDataset {
    const dataset = new OneRosterDataset();
    for (const entity of ROSTER_ENTITY_ORDER) for (const record of source.records(entity)) dataset.put(entity, record);
    return dataset;
  }

  /** A dataset read from a OneRoster CSV package (folder or zip) with `@rosterbridge/oneroster-csv`. */
  static async fromCsvPackage(location: string): Promise<OneRosterDataset> {
    const dataset = new OneRosterDataset();
    const pkg = await openCsvPackage(location, { checkReferences: false });
    try {
      for (const entity of ROSTER_ENTITY_ORDER) {
        if (pkg.modeOf(entity) === 'absent') continue;
        for await (const batch of pkg.read(entity)) {
          for (const record of batch.records) dataset.put(entity, record);
          dataset.loadIssues.push(...batch.issues);
        }
      }
    } finally {
      await pkg.dispose();
    }
    return dataset;
  }

  /** Counts every change, so that renderings can be cached until the next one. */
  get version(): number {
    return this.changes;
  }

  /** Adds or replaces a record (by sourcedId). */
  put<E extends RosterEntity>(entity: E, record: RosterRecord<E>): void {
    this.map(entity).set(record.sourcedId, record);
    this.sorted.delete(entity);
    this.changes++;
  }

  /** Removes a record, as a server does when a record simply vanishes; true if it was there. */
  remove(entity: RosterEntity, sourcedId: string): boolean {
    const removed = this.map(entity).delete(sourcedId);
    if (removed) {
      this.sorted.delete(entity);
      this.changes++;
    }
    return removed;
  }

  /** One record, or undefined. */
  get<E extends RosterEntity>(entity: E, sourcedId: string): RosterRecord<E> | undefined {
    return this.byEntity.get(entity)?.get(sourcedId) as RosterRecord<E> | undefined;
  }

  /** Every record of `entity`, in sourcedId order (code-unit order, as JavaScript sorts). */
  records<E extends RosterEntity>(entity: E): readonly RosterRecord<E>[] {
    let list = this.sorted.get(entity);
    if (!list) {
      list = [...(this.byEntity.get(entity)?.values() ?? [])].sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : a.sourcedId > b.sourcedId ? 1 : 0));
      this.sorted.set(entity, list);
    }
    return list as RosterRecord<E>[];
  }

  /** How many records each entity has. */
  counts(): Record<RosterEntity, number> {
    return Object.fromEntries(ROSTER_ENTITY_ORDER.map((e) => [e, this.byEntity.get(e)?.size ?? 0])) as Record<RosterEntity, number>;
  }

  private map(entity: RosterEntity): Map<string, RosterRecord> {
    let map = this.byEntity.get(entity);
    if (!map) {
      map = new Map();
      this.byEntity.set(entity, map);
    }
    return map;
  }
}
