/**
 * A local HTTP server that answers 200 to everything and keeps each request it got, for tests of
 * webhooks and healthcheck pings. It listens on 127.0.0.1 for the test file (beforeAll/afterAll).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface SeenRequest {
  method: string;
  /** The path with its query string. */
  url: string;
  /** The path alone. */
  path: string;
  body: string;
}

export interface RecordingServer {
  /** Every request so far, oldest first (a test may empty it: `seen.length = 0`). */
  seen: SeenRequest[];
  /** `http://127.0.0.1:PORT`, once the server listens. */
  base(): string;
}

export function recordingServer(): RecordingServer {
  const seen: SeenRequest[] = [];
  let base = '';
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', path: (req.url ?? '').replace(/\?.*/, ''), body });
      res.writeHead(200).end('OK');
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  return { seen, base: () => base };
}
