/**
 * A browser-less client of the operator console for HTTP tests: a cookie jar, the CSRF token of the
 * last page read, and form posts as a browser sends them (no redirect followed, so each answer can
 * be looked at).
 */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  /** The CSRF token of the last page read that had a form. */
  csrf = '';

  constructor(readonly base: string) {}

  /** The raw Set-Cookie lines of an answer, and the jar updated with them. */
  private keep(res: Response): string[] {
    const lines = res.headers.getSetCookie();
    for (const line of lines) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return lines;
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  async get(path: string): Promise<{ status: number; text: string; headers: Headers; setCookies: string[] }> {
    const res = await fetch(this.base + path, { headers: this.cookieHeader(), redirect: 'manual' });
    const setCookies = this.keep(res);
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1]!;
    return { status: res.status, text, headers: res.headers, setCookies };
  }

  /** Posts a form; `_csrf` is the last page's token unless the form names its own. */
  async post(path: string, form: Record<string, string> = {}, options: { csrf?: boolean; headers?: Record<string, string> } = {}) {
    const body = new URLSearchParams({ ...(options.csrf === false ? {} : { _csrf: this.csrf }), ...form });
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.cookieHeader(), ...(options.headers ?? {}) },
      body: body.toString(),
      redirect: 'manual',
    });
    const setCookies = this.keep(res);
    return { status: res.status, text: await res.text(), headers: res.headers, setCookies, location: res.headers.get('location') ?? undefined };
  }

  /** Signs in with an API token through the login page. */
  async login(token: string) {
    await this.get('/console/login');
    return this.post('/console/login', { token });
  }
}
