import { ErrorCodes } from '@rosterbridge/core';
import { type Access, rolesFor } from './auth';

/**
 * JSON Schemas of the control API: what each route takes (params, query, body) and answers. They
 * validate requests, shape responses (a response field not described here is not sent), and make
 * the OpenAPI document at /docs/json.
 */

/**
 * Body limits, in bytes, by what a route takes: most take none (`{}` at most). A command's arguments
 * may carry a file's content (School Manager's accounts as CSV): 16 MiB, about 200,000 accounts.
 */
export const BODY_LIMITS = { none: 1024, sync: 32 * 1024, pause: 4096, command: 16 * 1024 * 1024, fallback: 16 * 1024 } as const;

/** "Who may" of a route, for its OpenAPI description. */
export function whoMay(access: Access, scope: 'tenant' | 'run' | 'any'): string {
  if (scope === 'any') return 'Who may: any token.';
  const scoped = rolesFor(access).filter((r) => r !== 'admin');
  const of = scope === 'tenant' ? 'that tenant' : "the run's tenant";
  return `Who may: admin${scoped.length ? `; ${scoped.join(' or ')} of ${of}` : ''}.`;
}

const int = { type: 'integer', minimum: 0 } as const;
const str = { type: 'string' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

/** A run id in a path. Not a UUID: answered 404, like a UUID no run has. */
export const RUN_ID = { type: 'string', format: 'uuid', maxLength: 100, description: 'A run id (a UUID).' } as const;
/** A tenant id in a path. */
export const TENANT_ID = { type: 'string', maxLength: 100, description: 'A tenant id: its file name without `.json`.' } as const;
/** A target id in a path. */
export const TARGET_ID = { type: 'string', maxLength: 100, description: 'A target id, as in the tenant file (`kybergate`).' } as const;

/** Path params of `/tenants/:id…`. */
export const tenantParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: TENANT_ID } } as const;
/** Path params of `/tenants/:id/targets/:target/…`. */
export const tenantTargetParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'target'],
  properties: { id: TENANT_ID, target: TARGET_ID },
} as const;
/** A command id in a path. */
export const COMMAND_ID = {
  type: 'string',
  maxLength: 100,
  description: 'A command id (`gradient.startAcademicYear`), as `GET /tenants/:id/commands` lists them.',
} as const;
/** Path params of `/tenants/:id/commands/:command`. */
export const tenantCommandParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'command'],
  properties: { id: TENANT_ID, command: COMMAND_ID },
} as const;
/** Path params of `/runs/:id…`. */
export const runParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: RUN_ID } } as const;

/** The query of a route that takes none: any parameter is refused, naming it. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The body of a route that takes none: absent, or `{}`. */
export const noBody = { type: 'object', nullable: true, additionalProperties: false, properties: {}, description: 'No body, or `{}`.' } as const;

/** The error envelope every failure is answered with; `code` is one of the catalogue's. */
export const errorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', enum: Object.keys(ErrorCodes) },
        message: str,
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const errorDescriptions: Record<number, string> = {
  400: 'BAD_REQUEST: a field or parameter is wrong, unknown or missing (named in the message), or the body is not valid JSON or UTF-8.',
  401: 'AUTH_REQUIRED: no bearer token, or not a valid one.',
  403: 'AUTH_FORBIDDEN: the token does not reach this tenant, or its role may not do this.',
  404: 'NOT_FOUND, TENANT_NOT_FOUND, or COMMAND_UNKNOWN (no installed plugin contributes the command).',
  409: "CONFLICT (an active or held run), TENANT_BUSY (another operation under way), TENANT_PAUSED, or COMMAND_NOT_ENABLED (the command's plugin is not enabled for the tenant).",
  413: 'PAYLOAD_TOO_LARGE: the body is larger than this route takes.',
  414: 'URL_TOO_LONG.',
  415: 'UNSUPPORTED_MEDIA_TYPE: a body that is not application/json.',
  422: "TENANT_CONFIG_INVALID, COMMAND_REFUSED (the product's reason, its code in details.productCode) and other codes of a tenant or plugin that cannot serve this.",
  431: 'HEADERS_TOO_LARGE.',
  500: 'INTERNAL: a bug; the detail is in the host log.',
  502: 'COMMAND_FAILED: the plugin failed while running the command (its message).',
  503: 'COMMAND_NOT_REGISTERED or PLUGIN_FAILED: the plugin cannot run it.',
  504: 'DEADLINE_EXCEEDED: the command overran its deadline (sync.applyTimeoutMs).',
};

/** The error answers of a route: those any request can get (a bad URL, too large headers, a bug), and `extra`. */
export function errorResponses(...extra: number[]): Record<number, unknown> {
  const statuses = [...new Set([400, 414, 431, 500, ...extra])].sort((a, b) => a - b);
  return Object.fromEntries(statuses.map((s) => [s, { ...errorEnvelope, description: errorDescriptions[s] ?? 'An error, in the envelope.' }]));
}

const sourceEntityCounts = {
  type: 'object',
  properties: { read: int, rejected: int, created: int, updated: int, unchanged: int, deleted: int, skipped: int, heldBack: int },
} as const;

const targetCounts = { type: 'object', properties: { created: int, updated: int, unchanged: int, skipped: int, deleted: int, errors: int } } as const;

const runCounts = {
  type: 'object',
  properties: {
    source: { type: 'object', description: 'Per entity.', additionalProperties: sourceEntityCounts },
    targets: {
      type: 'object',
      description: 'Per target.',
      additionalProperties: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['pending', 'applied', 'failed', 'cancelled', 'skipped'] },
          errorCode: str,
          error: str,
          reason: str,
          entities: { type: 'object', description: 'Per entity.', additionalProperties: targetCounts },
          figures: {
            type: 'object',
            description: "The product's own figures as it last reported them (School Manager's matchedStudents), named by its summary.",
            additionalProperties: { type: 'number' },
          },
          product: { type: 'string', description: "The product's name (its target's displayName), with a summary." },
          summary: {
            type: 'array',
            description: "The product's summary of the run in its own words (its manifest's summary lines), when it declares one.",
            items: { type: 'object', required: ['label', 'value'], properties: { label: str, value: { type: 'number' } } },
          },
        },
      },
    },
    issues: {
      type: 'object',
      additionalProperties: true,
      description: 'Exact totals. When issues were left unstored past sync.maxIssuesPerCode, notStored counts them per severity and per code.',
      properties: {
        errors: int,
        warnings: int,
        notStored: { type: 'object', properties: { errors: int, warnings: int, byCode: { type: 'object', additionalProperties: int } } },
      },
    },
  },
} as const;

const runStatus = { type: 'string', enum: ['queued', 'running', 'success', 'partial', 'failed', 'held', 'cancelled', 'skipped'] } as const;
const runMode = { type: 'string', enum: ['full', 'delta', 'backfill'] } as const;

/** A run with all its counts (later versions may add fields). */
export const runSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'tenantId', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    tenantId: str,
    sourceId: str,
    mode: runMode,
    dryRun: { type: 'boolean' },
    preview: { type: 'boolean' },
    schools: { type: 'array', items: str },
    trigger: str,
    targets: { type: 'array', items: str },
    jobId: str,
    attempt: int,
    status: runStatus,
    phase: { type: 'string', enum: ['queued', 'staging', 'staged', 'applying', 'done'] },
    reason: str,
    errorCode: str,
    errorMessage: str,
    counts: runCounts,
    hold: {
      type: 'object',
      properties: {
        reason: str,
        thresholds: { type: 'object', properties: { maxDeletePercent: { type: 'number' }, maxChangePercent: { type: 'number' } } },
        crossed: {
          type: 'array',
          items: {
            type: 'object',
            properties: { entity: str, kind: { type: 'string', enum: ['delete', 'change'] }, count: int, of: int, percent: { type: 'number' } },
          },
        },
        decidedBy: str,
        decision: { type: 'string', enum: ['approved', 'rejected'] },
      },
    },
    queuedAt: dateTime,
    startedAt: dateTime,
    committedAt: dateTime,
    endedAt: dateTime,
    durationMs: int,
  },
} as const;

/** A run as a line of history. */
export const runSummarySchema = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: runStatus,
    mode: runMode,
    dryRun: { type: 'boolean' },
    preview: { type: 'boolean' },
    trigger: str,
    targets: { type: 'array', items: str },
    jobId: str,
    attempt: int,
    queuedAt: dateTime,
    startedAt: dateTime,
    endedAt: dateTime,
    durationMs: int,
    recordsProcessed: int,
    errors: int,
    warnings: int,
    errorCode: str,
    reason: str,
  },
} as const;

const issueProperties = {
  code: str,
  severity: { type: 'string', enum: ['error', 'warning'] },
  message: str,
  entity: str,
  sourcedId: str,
  field: str,
  file: str,
  line: int,
  column: int,
} as const;

/** A record-level issue of a run. */
export const runIssueSchema = {
  type: 'object',
  required: ['seq', 'code', 'severity', 'message'],
  properties: { seq: int, targetId: str, ...issueProperties },
} as const;

/** A plugin and its state. */
export const pluginSchema = {
  type: 'object',
  required: ['id', 'state'],
  properties: {
    id: str,
    displayName: str,
    version: str,
    location: str,
    state: { type: 'string', enum: ['inactive', 'activating', 'active', 'failed', 'deactivated'] },
    activationEvents: { type: 'array', items: str },
    dependencies: { type: 'array', items: str },
    contributes: {
      type: 'object',
      additionalProperties: true,
      description: 'What the manifest contributes: sources, targets, commands, configuration, schedules.',
    },
    failure: {
      type: 'object',
      properties: {
        code: str,
        reason: str,
        problems: { type: 'array', items: { type: 'object', properties: { field: str, message: str } } },
      },
    },
    activation: { type: 'object', properties: { event: str, startedAt: dateTime, durationMs: int } },
  },
} as const;

/** A tenant: valid with its effective config (secrets redacted), or invalid with its problems. */
export const tenantSchema = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    id: str,
    status: { type: 'string', enum: ['valid', 'paused', 'invalid'] },
    config: {
      type: 'object',
      additionalProperties: true,
      description: "The effective tenant config (plugins' settings with defaults, schedules resolved), secrets shown as `[secret from env NAME]`.",
    },
    problems: { type: 'array', items: { type: 'object', properties: { key: str, message: str } } },
    fileProblems: {
      type: 'array',
      items: { type: 'object', properties: { key: str, message: str } },
      description: "The tenant file's problems when a reload found it invalid: `config` is the last valid one, still in effect.",
    },
  },
} as const;

/** What a reload of the tenant files did. */
export const tenantReloadSchema = {
  type: 'object',
  required: ['at', 'tenants'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    tenants: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'change'],
        properties: {
          id: str,
          change: {
            type: 'string',
            enum: ['added', 'changed', 'removed', 'kept-last-valid', 'unchanged'],
            description: '`kept-last-valid`: the file is invalid now; the last valid config stays in effect (see `problems`).',
          },
          problems: { type: 'array', items: { type: 'object', properties: { key: str, message: str } } },
          runInFlight: { type: 'boolean', description: 'A run of the tenant is executing: it finishes on the config it started with.' },
        },
      },
    },
  },
} as const;

/** When a tenant's targets sync by themselves. */
export const schedulesSchema = {
  type: 'object',
  required: ['tenant', 'enabled', 'schedules', 'manual'],
  properties: {
    tenant: str,
    enabled: { type: 'boolean', description: 'Whether this host runs schedules (`sync.schedule.enabled`).' },
    schedules: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          cron: str,
          timezone: str,
          targets: { type: 'array', items: str },
          origins: { type: 'object', additionalProperties: str, description: 'Per target: where its cron and time zone came from.' },
          queue: str,
          next: { type: 'array', items: dateTime },
        },
      },
    },
    manual: { type: 'array', items: str, description: 'Enabled targets on no schedule.' },
  },
} as const;

/** The outcome of a source connection check. */
export const connectionCheckSchema = {
  type: 'object',
  required: ['ok', 'message'],
  properties: {
    ok: { type: 'boolean' },
    code: { type: 'string', enum: ['SOURCE_UNREACHABLE', 'SOURCE_BAD_CREDENTIALS', 'SOURCE_FORBIDDEN', 'SOURCE_INVALID', 'SOURCE_NOT_FOUND'] },
    message: str,
    issues: { type: 'array', items: { type: 'object', properties: issueProperties } },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/** A tenant's pause state after pause or resume. */
export const pauseStateSchema = {
  type: 'object',
  required: ['tenant', 'paused'],
  properties: { tenant: str, paused: { type: 'boolean' }, reason: str },
} as const;

/** A command a plugin contributes, as listed for a tenant. */
export const commandSchema = {
  type: 'object',
  required: ['id', 'title', 'plugin', 'readOnly', 'arguments'],
  properties: {
    id: str,
    title: str,
    description: str,
    plugin: { type: 'string', description: 'The plugin contributing it.' },
    readOnly: { type: 'boolean', description: "True when it changes nothing (it runs without holding the tenant's operation)." },
    arguments: { type: 'object', additionalProperties: true, description: 'JSON Schema of its arguments (unknown arguments are refused).' },
  },
} as const;

/** What running a command answers. */
export const commandOutcomeSchema = {
  type: 'object',
  required: ['tenant', 'command', 'plugin', 'by', 'durationMs', 'result'],
  properties: {
    tenant: str,
    command: str,
    plugin: str,
    by: { type: 'string', description: "The token's name." },
    durationMs: int,
    result: {
      type: 'object',
      additionalProperties: true,
      required: ['summary'],
      description:
        'What the plugin answered: `summary` (one line), facts, and `rejected` (what it could not take, each with its line, code and reason; at most a few hundred, `rejectedCount` in all).',
      properties: { summary: str },
    },
  },
} as const;
