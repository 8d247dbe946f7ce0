import { createServer } from 'node:net';
import { RosterbridgeError } from '@rosterbridge/core';

/**
 * Fails at once when the control API's address cannot be bound (the port taken by another
 * process, say), before a start spends seconds on the database and the plugins only to fail at
 * its last step. The listen itself maps its errors the same way, for a port taken in between.
 */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  // Port 0 picks a free port: nothing to check.
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenFailure(err, host, port)));
    server.listen({ host, port }, () => server.close(() => resolve()));
  });
}

/**
 * A listen error as a CONFIG_INVALID naming the key and env var to change, or the error itself
 * when it is not about the address.
 */
export function listenFailure(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const at = `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new RosterbridgeError(
        'CONFIG_INVALID',
        `http.port (env RB_HTTP_PORT): port ${port} on ${host} is in use by another process (another host?): stop it, or set RB_HTTP_PORT to a free port (0 picks one)`,
        { key: 'http.port', address: at },
        { cause: err },
      );
    case 'EACCES':
      return new RosterbridgeError(
        'CONFIG_INVALID',
        `http.port (env RB_HTTP_PORT): port ${port} on ${host} needs privileges this process does not have (ports below 1024): set RB_HTTP_PORT to 1024 or above`,
        { key: 'http.port', address: at },
        { cause: err },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new RosterbridgeError(
        'CONFIG_INVALID',
        `http.host (env RB_HTTP_HOST): "${host}" is not an address of this machine (${code}): set RB_HTTP_HOST to one of its addresses, 127.0.0.1 or 0.0.0.0`,
        { key: 'http.host', address: at },
        { cause: err },
      );
    default:
      return err;
  }
}
