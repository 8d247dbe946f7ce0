import { createHash, timingSafeEqual } from 'node:crypto';
import { RosterbridgeError } from '@rosterbridge/core';
import type { ApiToken } from '../config/host-config';

/** Who is calling: an admin, or a tenant-scoped caller who sees only its tenant. */
export interface Principal {
  name: string;
  role: 'admin' | 'tenant';
  tenant?: string;
}

/** Checks bearer tokens in constant time; tokens are kept only as hashes. */
export class TokenAuthenticator {
  private readonly tokens: { hash: Buffer; principal: Principal }[];

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({ hash: digest(t.token), principal: { name: t.name, role: t.role, tenant: t.tenant } }));
  }

  /** The principal for an `Authorization` header; AUTH_REQUIRED when absent or unknown. */
  authenticate(header: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw new RosterbridgeError('AUTH_REQUIRED', 'send a bearer token: Authorization: Bearer <token>');
    const hash = digest(match[1]!);
    let found: Principal | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, hash)) found = t.principal;
    if (!found) throw new RosterbridgeError('AUTH_REQUIRED', 'the bearer token is not valid');
    return found;
  }
}

/** Throws AUTH_FORBIDDEN unless the principal may see this tenant's resources. */
export function assertTenantAccess(principal: Principal, tenantId: string): void {
  if (principal.role === 'admin') return;
  if (principal.tenant !== tenantId) throw new RosterbridgeError('AUTH_FORBIDDEN', `token "${principal.name}" may not access tenant "${tenantId}"`, { tenant: tenantId });
}

/** Throws AUTH_FORBIDDEN unless the principal is an admin. */
export function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new RosterbridgeError('AUTH_FORBIDDEN', `token "${principal.name}" is tenant-scoped; this needs an admin token`);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
