/**
 * An HTTPS endpoint on 127.0.0.1 that records what is POSTed to it: the stand-in for an SNS https
 * subscriber (AWS Chatbot subscribes with https). Its certificate is self-signed for 127.0.0.1
 * (openssl CLI); give `caFile` to the sender (moto: REQUESTS_CA_BUNDLE) so it verifies TLS as
 * against a real endpoint, instead of turning verification off.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface CapturedPost {
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface HttpsCapture {
  readonly url: string;
  /** PEM of the server's certificate, to be trusted by the sender. */
  readonly caFile: string;
  readonly posts: CapturedPost[];
  stop(): Promise<void>;
}

export async function startHttpsCapture(): Promise<HttpsCapture> {
  const dir = await mkdtemp(join(tmpdir(), 'https-capture-'));
  try {
    await execFileP('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { cwd: dir });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl could not make the test certificate: ${e.stderr ?? e.message}`);
  }
  const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
  const posts: CapturedPost[] = [];
  const server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/`,
    caFile: join(dir, 'cert.pem'),
    posts,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
