import { createHash, timingSafeEqual } from 'node:crypto';
import { RosterbridgeError } from '@rosterbridge/core';
import type { ApiRole, ApiToken } from '../config/host-config';

/** Who is calling: an admin (every tenant), or a caller scoped to some tenants. */
export interface Principal {
  name: string;
  role: ApiRole;
  /** The tenants a scoped token reaches; absent for an admin. */
  tenants?: readonly string[];
}

/**
 * What a route does, from least to most dangerous: `read` shows state; `sync` starts or stops runs
 * and tests the source; `operate` destroys or overrides (reset a target, approve or reject a hold,
 * back-fill, pause, resume) or changes a product's own state (a plugin command).
 */
export type Access = 'read' | 'sync' | 'operate' | 'host';

/** What each role may do on the tenants it reaches; `host` (reload the tenant files) is the host's own, for admins. */
export const ROLE_ACCESS: Readonly<Record<ApiRole, readonly Access[]>> = {
  admin: ['read', 'sync', 'operate', 'host'],
  'tenant-operator': ['read', 'sync', 'operate'],
  tenant: ['read', 'sync'],
};

/** The roles that may do `access`, for docs and error messages. */
export function rolesFor(access: Access): ApiRole[] {
  return (Object.keys(ROLE_ACCESS) as ApiRole[]).filter((role) => ROLE_ACCESS[role].includes(access));
}

/** Whether the principal reaches this tenant at all (an admin reaches every tenant). */
export function reaches(principal: Principal, tenantId: string): boolean {
  return principal.role === 'admin' || (principal.tenants ?? []).includes(tenantId);
}

/** Throws AUTH_FORBIDDEN unless the principal's role may do `access`, which concerns the host, not a tenant. */
export function authorizeHost(principal: Principal, access: Access): void {
  if (!ROLE_ACCESS[principal.role].includes(access))
    throw new RosterbridgeError(
      'AUTH_FORBIDDEN',
      `token "${principal.name}" has role "${principal.role}", which may not ${describeAccess(access)}; this needs role ${rolesFor(access)
        .map((r) => `"${r}"`)
        .join(' or ')}`,
      { role: principal.role, needs: rolesFor(access) },
    );
}

/**
 * Throws AUTH_FORBIDDEN unless the principal may do `access` on the tenant. A token that does not
 * reach the tenant is refused whether or not the tenant exists, so it learns nothing of others.
 */
export function authorize(principal: Principal, access: Access, tenantId: string): void {
  if (!reaches(principal, tenantId))
    throw new RosterbridgeError('AUTH_FORBIDDEN', `token "${principal.name}" may not access tenant "${tenantId}"`, { tenant: tenantId });
  if (!ROLE_ACCESS[principal.role].includes(access))
    throw new RosterbridgeError(
      'AUTH_FORBIDDEN',
      `token "${principal.name}" has role "${principal.role}", which may not ${describeAccess(access)}; this needs role ${rolesFor(access)
        .map((r) => `"${r}"`)
        .join(' or ')}`,
      { tenant: tenantId, role: principal.role, needs: rolesFor(access) },
    );
}

function describeAccess(access: Access): string {
  return {
    read: 'read',
    sync: 'start or stop runs',
    operate: 'reset, approve, reject, back-fill, pause, resume or run plugin commands',
    host: 'manage the host (reload the tenant files)',
  }[access];
}

/** Checks bearer tokens in constant time; tokens are kept only as hashes. */
export class TokenAuthenticator {
  private readonly tokens: { hash: Buffer; principal: Principal }[];

  /** The tokens must be distinct (the host config refuses duplicates); a duplicate here is a bug. */
  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({ hash: digest(t.token), principal: principalOf(t) }));
    const seen = new Set<string>();
    for (const t of this.tokens) {
      const key = t.hash.toString('hex');
      if (seen.has(key))
        throw new RosterbridgeError('CONFIG_INVALID', `api.tokens: token "${t.principal.name}" repeats another token`, { keys: ['api.tokens'] });
      seen.add(key);
    }
  }

  /** How many tokens there are. */
  get size(): number {
    return this.tokens.length;
  }

  /** The principal for an `Authorization` header; AUTH_REQUIRED when absent or unknown. */
  authenticate(header: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw new RosterbridgeError('AUTH_REQUIRED', 'send a bearer token: Authorization: Bearer <token>');
    const hash = digest(match[1]!);
    let found: Principal | undefined;
    // Every token is compared, so the time taken does not tell which one matched.
    for (const t of this.tokens) if (timingSafeEqual(t.hash, hash)) found = t.principal;
    if (!found) throw new RosterbridgeError('AUTH_REQUIRED', 'the bearer token is not valid');
    return found;
  }
}

function principalOf(token: ApiToken): Principal {
  if (token.role === 'admin') return { name: token.name, role: 'admin' };
  return { name: token.name, role: token.role, tenants: [...(token.tenants ?? []), ...(token.tenant ? [token.tenant] : [])] };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
