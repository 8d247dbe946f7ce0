import {
  ErrorCodes,
  type ErrorCode,
  RosterbridgeError,
  type SourceLimits,
  type SyncRunEvent,
  type TenantInfo,
  errorMessage,
  isRosterbridgeError,
} from '@rosterbridge/core';
import type { PluginManifest } from '@rosterbridge/core';

/**
 * The messages between the host and a plugin's worker thread. Everything crosses by structured
 * clone: plain objects, strings, numbers, Dates, typed arrays — never a function, a class instance
 * or a live connection. Calls go both ways with numeric ids and are answered once.
 */

/** What the host calls in the worker. */
export type WorkerCallOp =
  | 'activate'
  | 'deactivate'
  | 'source.open'
  | 'source.check'
  | 'source.fingerprint'
  | 'source.read'
  | 'reader.next'
  | 'reader.return'
  | 'target.open'
  | 'target.apply'
  | 'target.finish'
  | 'target.reset'
  | 'target.pausedReason'
  | 'session.dispose'
  | 'command';

/** What the worker asks of the host. */
export type HostRequestOp = 'settings' | 'db.acquire' | 'db.query' | 'db.begin' | 'db.commit' | 'db.rollback' | 'db.release';

/** A failure as it crosses the thread: a coded error stays coded. */
export interface WireError {
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

/** What the host knows of one tenant that the plugin may see without asking (sync getters). */
export interface TenantSnapshot {
  tenantId: string;
  configDir: string;
  info: TenantInfo;
}

export type ToWorker =
  | { kind: 'call'; id: number; op: WorkerCallOp; args: unknown[]; signal?: number }
  | { kind: 'abort'; signal: number; reason: string }
  | { kind: 'release'; signal: number }
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; error: WireError }
  | { kind: 'runEvent'; event: SyncRunEvent }
  | { kind: 'tenants'; tenants: TenantSnapshot[] };

export type FromWorker =
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: WireError }
  | { kind: 'request'; id: number; op: HostRequestOp; args: unknown[] }
  | {
      kind: 'log';
      level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
      bindings: Record<string, unknown>;
      fields: Record<string, unknown> | string;
      message?: string;
    }
  | { kind: 'register'; what: 'source' | 'target' | 'command'; contributionId: string; handle: number }
  | { kind: 'unregister'; handle: number }
  | { kind: 'remember'; secret: string; handle: number }
  | { kind: 'forget'; handle: number };

/** What a worker is started with. */
export interface PluginWorkerData {
  manifest: PluginManifest;
  /** The plugin's entry module (absolute). */
  main: string;
  /** The plugin's own schema. */
  schema: string;
  /** A PostgreSQL server's URL: the worker opens a small pool of its own. Empty (embedded): queries go through the host. */
  databaseUrl: string;
  sourceLimits?: SourceLimits;
  tenants: TenantSnapshot[];
}

/** A source session's facts, answered by `source.open`. */
export interface OpenedSource {
  session: number;
  capabilities: { entities: string[]; delta: boolean };
  fingerprint: boolean;
}

/** A target session's facts, answered by `target.open`: which optional calls it has. */
export interface OpenedTarget {
  session: number;
  finish: boolean;
  pausedReason: boolean;
}

export function toWire(err: unknown): WireError {
  if (isRosterbridgeError(err)) return { code: err.code, message: err.message, details: plainDetails(err.details) };
  return { message: errorMessage(err) };
}

export function fromWire(wire: WireError): Error {
  if (wire.code !== undefined && Object.hasOwn(ErrorCodes, wire.code)) return new RosterbridgeError(wire.code as ErrorCode, wire.message, wire.details ?? {});
  return new Error(wire.message);
}

/** Details that survive structured cloning (a function or a class instance in them would not). */
function plainDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  }
}
