import { deriveSeed, unitFromSeed } from '@rosterbridge/district-generator';

/** What a fault does to the response. */
export type SimulatorFaultEffect =
  /** An error status: 429 (with `retryAfter`), 500, 502, 503, 504… with an imsx, text or HTML body. */
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: 'imsx' | 'text' | 'html' }
  /** The connection is destroyed before any response. */
  | { kind: 'reset' }
  /** The headers and half the body are sent (with the full Content-Length), then the connection is destroyed. */
  | { kind: 'resetMidBody' }
  /** The response is held back `delayMs` (make it longer than the client's timeout). */
  | { kind: 'slow'; delayMs: number }
  /** A 200 whose JSON body is cut in half, correctly framed. */
  | { kind: 'truncatedJson' }
  /** A 200 whose JSON has no envelope key. */
  | { kind: 'missingEnvelope' }
  /** An HTML page (a proxy's error page), 200 unless `status` says otherwise. */
  | { kind: 'htmlPage'; status?: number };

/**
 * A fault to inject, deterministically: on exact request numbers, or on a share of requests drawn
 * from the simulator's seed. Numbers count only the requests the fault matches (by `path`), from 1.
 *
 * ```ts
 * { kind: 'status', status: 429, retryAfter: 1, requests: [2, 3] }     // the 2nd and 3rd API requests
 * { kind: 'reset', path: 'users', requests: [1] }                       // the first request for /users
 * { kind: 'status', status: 503, rate: 0.2 }                            // a fifth of requests, by seed
 * { kind: 'truncatedJson', path: /^enrollments$/, requests: [3] }
 * ```
 */
export type SimulatorFault = SimulatorFaultEffect & {
  /** Which requests the fault looks at: the path below the base URL, exactly (string) or by pattern. Default all. */
  path?: string | RegExp;
  /** 1-based numbers, among matching requests, that get the fault. */
  requests?: readonly number[];
  /** The share (0–1) of matching requests that get the fault, drawn from the simulator's seed. */
  rate?: number;
  /** The fault fires at most this many times. */
  times?: number;
};

/** Decides, request by request, which fault (if any) applies. */
export class SimulatorFaultPlan {
  private readonly matched: number[];
  private readonly fired: number[];

  constructor(
    readonly faults: readonly SimulatorFault[],
    private readonly seed: number,
  ) {
    this.matched = faults.map(() => 0);
    this.fired = faults.map(() => 0);
  }

  /** The fault for a request to `path` (below the base URL), or undefined. Every fault counts the request if it matches. */
  next(path: string): SimulatorFault | undefined {
    let chosen: SimulatorFault | undefined;
    this.faults.forEach((fault, i) => {
      if (!matchesPath(fault.path, path)) return;
      const n = ++this.matched[i]!;
      if (chosen) return;
      if (fault.times !== undefined && this.fired[i]! >= fault.times) return;
      const byNumber = fault.requests?.includes(n) ?? false;
      // The draw depends only on the seed, the fault and the request number: the same run, the same faults.
      const byRate = fault.rate !== undefined && unitFromSeed(deriveSeed(this.seed, i, n)) < fault.rate;
      const always = fault.requests === undefined && fault.rate === undefined;
      if (byNumber || byRate || always) {
        this.fired[i]!++;
        chosen = fault;
      }
    });
    return chosen;
  }

  /** How many times each fault has fired, in the order given. */
  firedCounts(): number[] {
    return [...this.fired];
  }
}

function matchesPath(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? pattern === path : pattern.test(path);
}
