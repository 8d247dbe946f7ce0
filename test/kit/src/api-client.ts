/** What a control API answered: its status and its JSON body. */
export interface ApiAnswer {
  status: number;
  body: any;
}

/**
 * Calls a host's control API as `token`: `call('GET', '/tenants')`, `call('POST', '/tenants/x/syncs')`
 * (a POST sends `{}` unless given a body). For tests that talk HTTP to a host, in this process or not.
 */
export function apiClient(baseUrl: string | (() => string), token: string): (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<ApiAnswer> {
  return async (method, path, body) => {
    const sent = method === 'POST' ? (body ?? {}) : body;
    const res = await fetch((typeof baseUrl === 'string' ? baseUrl : baseUrl()) + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(sent === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
}
