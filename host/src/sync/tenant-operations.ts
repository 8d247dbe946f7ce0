import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { RosterbridgeError, type RunStatus } from '@rosterbridge/core';
import type { CoreDatabase } from '../database/core-database';

/** What a tenant can be busy with. */
export type TenantOperationKind = 'sync' | 'backfill' | 'reset' | 'pause' | 'resume' | 'command';

/** The operation a tenant is under, as recorded. */
export interface TenantOperation {
  tenantId: string;
  operation: TenantOperationKind;
  /** What it works on: a target for a reset or a back-fill, a command id for a command. */
  target?: string;
  /** Who asked: a token's name, `api:<token>`, `cli`, `schedule …`. */
  by: string;
  startedAt: string;
}

/**
 * One operation per tenant at a time, across every host sharing the database: starting a run (a
 * sync or a back-fill), resetting a target, pausing or resuming, running a plugin command that writes. Each holds the tenant's row in
 * `tenant_operation` while it works, under a lease it renews; another that comes meanwhile is
 * refused with TENANT_BUSY naming the one under way. A run, once created, is kept alone by the
 * database's one-active-run index; operations that must not overlap a run look for one here.
 *
 * ```ts
 * await operations.run('lincoln', { operation: 'reset', target: 'kybergate', by: 'ops' }, () => reset());
 * ```
 */
export class TenantOperations {
  constructor(
    /** The core schema. */
    private readonly db: Kysely<CoreDatabase>,
    /** How long a claim holds without renewal: a host that dies holding one frees it after this. */
    private readonly leaseMs: number,
  ) {}

  /** Runs `work` as the tenant's one operation; TENANT_BUSY when another is under way. */
  async run<T>(tenantId: string, operation: Omit<TenantOperation, 'tenantId' | 'startedAt'>, work: () => Promise<T>): Promise<T> {
    const id = randomUUID();
    const lease = sql<Date>`now() + ${`${this.leaseMs} milliseconds`}::interval`;
    const row = { id, operation: operation.operation, detail: operation.target ?? null, by: operation.by, started_at: sql<Date>`now()`, lease_until: lease };
    // The holder may end between our claim failing and our look at it: then claim again.
    for (let attempt = 0; ; attempt++) {
      const claimed = await this.db
        .insertInto('tenant_operation')
        .values({ tenant_id: tenantId, ...row })
        // A row left by a host that died is taken over once its lease has run out.
        .onConflict((oc) =>
          oc
            .column('tenant_id')
            .doUpdateSet(row)
            .where('tenant_operation.lease_until', '<', sql<Date>`now()`),
        )
        .returning('id')
        .executeTakeFirst();
      if (claimed) break;
      const current = await this.current(tenantId);
      if (current) throw busy(tenantId, describe(current), { operation: current.operation, target: current.target, by: current.by, since: current.startedAt });
      if (attempt >= 2) throw busy(tenantId, 'another operation');
    }
    const renewal = setInterval(
      () => {
        void this.db
          .updateTable('tenant_operation')
          .set({ lease_until: lease })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .execute()
          .catch(() => undefined);
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    renewal.unref();
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      // Should this fail (the database gone), the lease runs out by itself.
      await this.db
        .deleteFrom('tenant_operation')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute()
        .catch(() => undefined);
    }
  }

  /** The operation the tenant is under, if any (an expired one is not). */
  async current(tenantId: string): Promise<TenantOperation | undefined> {
    const row = await this.db
      .selectFrom('tenant_operation')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('lease_until', '>=', sql<Date>`now()`)
      .executeTakeFirst();
    return (
      row && {
        tenantId,
        operation: row.operation,
        ...(row.detail ? { target: row.detail } : {}),
        by: row.by,
        startedAt: new Date(row.started_at).toISOString(),
      }
    );
  }

  /** The tenant's active run (queued, running, or held for an operator), if any. */
  async activeRun(tenantId: string): Promise<{ id: string; status: RunStatus } | undefined> {
    return this.db
      .selectFrom('run')
      .select(['id', 'status'])
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', ['queued', 'running', 'held'])
      .executeTakeFirst();
  }
}

/** TENANT_BUSY: the tenant is under `what`. */
export function busy(tenantId: string, what: string, details: Record<string, unknown> = {}): RosterbridgeError {
  return new RosterbridgeError('TENANT_BUSY', `tenant "${tenantId}" is busy with ${what}; try again when it ends`, { tenant: tenantId, ...details });
}

function describe(op: TenantOperation): string {
  const what = {
    sync: 'a sync starting',
    backfill: `a back-fill of target "${op.target}" starting`,
    reset: `a reset of target "${op.target}"`,
    pause: 'a pause',
    resume: 'a resume',
    command: `command "${op.target}"`,
  }[op.operation];
  return `${what} (by ${op.by}, since ${op.startedAt})`;
}
