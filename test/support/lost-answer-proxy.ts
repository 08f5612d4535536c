import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LostAnswerProxy {
  readonly endpoint: string;
  /** Requests passed on to the upstream so far (each was applied there). */
  forwarded(): number;
  close(): Promise<void>;
}

/**
 * A fault in front of a real endpoint: every request is passed on, but the first `lose` answers
 * are never sent back, as when a network path drops responses. The writes happened; the client
 * times out and retries.
 */
export async function lostFirstAnswerProxy(upstream: string, lose = 1): Promise<LostAnswerProxy> {
  let forwarded = 0;
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      forwarded++;
      const first = forwarded <= lose;
      fetch(upstream, { method: req.method ?? 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          if (first) {
            held.push(res);
            return;
          }
          // fetch has already decoded the body: its encoding headers no longer apply.
          res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([k]) => !['content-encoding', 'transfer-encoding', 'content-length'].includes(k))));
          res.end(body);
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    forwarded: () => forwarded,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
