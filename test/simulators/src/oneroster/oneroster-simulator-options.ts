import type { RosterRecordSource } from '@rosterbridge/district-generator';
import type { ClassLinkQuirks } from './classlink-record-json';
import type { SimulatorOAuth1Consumer } from './oauth1-verifier';
import type { OneRosterDataset } from './oneroster-dataset';
import type { SimulatorFault } from './simulator-fault';

/** Who may call the simulator. Any configured method is accepted. */
export interface SimulatorAuthOptions {
  /** OAuth 1.0a consumers (HMAC-SHA256 and HMAC-SHA1 both accepted). */
  oauth1?: readonly SimulatorOAuth1Consumer[];
  /** Bearer tokens accepted as they are (ClassLink's proxy). */
  bearerTokens?: readonly string[];
  /** OAuth 2 client-credentials clients; tokens come from `tokenUrl`. */
  oauth2Clients?: readonly { clientId: string; clientSecret: string }[];
  /** Lifetime of issued OAuth 2 tokens. Default 3600 s. */
  tokenLifetimeSeconds?: number;
  /** How far an OAuth 1.0a timestamp may be from the simulator's clock. Default 300 s. */
  clockToleranceSeconds?: number;
}

/** Paging behaviour. */
export interface SimulatorPagingOptions {
  /** `limit` when the request gives none. Default 100 (the spec's). */
  defaultLimit?: number;
  /** Larger limits are clamped to this, silently (no error, no header saying so). Default 10,000 (ClassLink's ceiling). */
  maxLimit?: number;
  /** `X-Total-Count`: right (default), absent, or off by `totalCountSkew`. */
  totalCount?: 'correct' | 'absent' | 'wrong';
  /** How far off a wrong total is. Default -3 (fewer than there are: the dangerous direction). */
  totalCountSkew?: number;
  /** `Link` (next, last, first, prev): right (default), absent, or wrong (next and last skip a record). */
  link?: 'correct' | 'absent' | 'wrong';
}

/** What can be changed on a running simulator. */
export interface SimulatorBehaviour {
  paging?: SimulatorPagingOptions;
  /** Faults to inject; see {@link SimulatorFault}. Replacing them restarts their request counts. */
  faults?: readonly SimulatorFault[];
  /** Collections or entities the credentials may not read (403), e.g. `['demographics']`. */
  forbidden?: readonly string[];
  /** Added before every API response, to make pages take time. */
  latencyMs?: number;
  /** Error bodies as `imsx_StatusInfo` JSON (default) or plain text, as many servers send on 401 and 429. */
  errorBodies?: 'imsx' | 'text';
}

/** How to start a simulator. */
export interface OneRosterSimulatorOptions extends SimulatorBehaviour {
  /** The roster to serve: a dataset, or anything with `records(entity)` (a generated district). */
  dataset: OneRosterDataset | RosterRecordSource;
  /** Who may call; `'none'` serves without authentication. */
  auth: SimulatorAuthOptions | 'none';
  /** The path of the service root. Default `/ims/oneroster/v1p1`; may carry a prefix such as ClassLink's proxy `/<applicationId>/ims/oneroster/v1p1` (already percent-escaped). */
  basePath?: string;
  /** ClassLink payload quirks; `false` for plain spec JSON. Default: all on, except `classStudentsIncludeTeachers`. */
  quirks?: ClassLinkQuirks | false;
  /** Seed of the rate-based faults. Default 1. */
  seed?: number;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** The simulator's clock (epoch ms), for OAuth timestamps and token expiry. */
  now?: () => number;
}
