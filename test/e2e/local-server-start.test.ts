/**
 * A request that reaches the local server while it is still starting (the
 * port is open, the store and the seeded client are being set up) is
 * answered once the server is ready, never left hanging.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Sends GET `path` as soon as the port accepts a connection; resolves with the status. */
function requestAsSoonAsListening(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') setImmediate(attempt);
        else reject(error);
      });
      req.end();
    };
    attempt();
  });
}

describe('starting the local server', () => {
  it('answers a request that arrives while it is still starting', async () => {
    const port = await freePort();
    const early = requestAsSoonAsListening(port, '/cis/oidc/jwks');
    const server = await startLocalServer({ port, dynamoEndpoint: inject('dynamoEndpoint'), tableName: `start-${Date.now()}`, logger: jsonLogger('silent') });
    try {
      expect(await early).toBe(200);
    } finally {
      await server.close();
    }
  });
});
