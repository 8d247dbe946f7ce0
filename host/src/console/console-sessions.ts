import { randomBytes } from 'node:crypto';
import type { Principal } from '../api/auth';

/** A signed-in operator: the token stays here, on the server; the browser holds only the session id. */
export interface ConsoleSession {
  id: string;
  principal: Principal;
  /** The API token, to call the API's own routes as this operator. Never rendered, never logged. */
  token: string;
  createdAt: number;
  lastSeenAt: number;
  /** A one-line message for the next page (what the last action did). */
  flash?: string;
}

/**
 * Console sessions in memory: a random 256-bit id maps to the principal and its token. Why not the
 * token in the cookie: a cookie can leak (a copied header, a proxy log) and the token is long-lived,
 * while a session id expires, is dropped at logout, and dies with the process. Bounded: at most
 * `maxSessions` (the least recently used is dropped first), each ending after `idleMs` unused or
 * `maxAgeMs` in all.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly limits: { maxSessions: number; idleMs: number; maxAgeMs: number } = {
      maxSessions: 1000,
      idleMs: 60 * 60 * 1000,
      maxAgeMs: 12 * 60 * 60 * 1000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** How many sessions are open. */
  get size(): number {
    return this.sessions.size;
  }

  /** Opens a session for a principal whose token the API accepted. */
  open(principal: Principal, token: string): ConsoleSession {
    this.sweep();
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const t = this.now();
    const session: ConsoleSession = { id: randomBytes(32).toString('base64url'), principal, token, createdAt: t, lastSeenAt: t };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id (and it is marked used), or undefined. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id || id.length > 100) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const t = this.now();
    if (this.expired(session, t)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = t;
    // Most recently used last, so the first key is the one to drop when full.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  /** Ends a session (logout). */
  close(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  private expired(s: ConsoleSession, t: number): boolean {
    return t - s.lastSeenAt > this.limits.idleMs || t - s.createdAt > this.limits.maxAgeMs;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (this.expired(s, t)) this.sessions.delete(id);
  }
}
