import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { redact, redactDeep, REDACTED } from '../../lib/evidence/redact.js';
import { BENIGN_LINES, SECRET_CASES } from '../fixtures/redaction-corpus.js';

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('redact: secret corpus', () => {
  it('covers at least 40 distinct secret shapes', () => {
    expect(new Set(SECRET_CASES.map((c) => c.shape)).size).toBe(SECRET_CASES.length);
    expect(SECRET_CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(SECRET_CASES.map((c) => [c.shape, c] as const))('masks %s', (_shape, c) => {
    // Act
    const out = redact(c.line);
    // Assert
    expect(out).toContain(REDACTED);
    for (const secret of c.secrets) expect(out, `${secret} leaked in:\n${out}`).not.toContain(secret);
    for (const kept of c.keeps ?? []) expect(out, `lost context ${kept} in:\n${out}`).toContain(kept);
    expect(redact(out)).toBe(out);
  });

  it('masks the whole corpus joined into one log tail', () => {
    const tail = SECRET_CASES.map((c) => c.line).join('\n');
    const out = redact(tail);
    for (const c of SECRET_CASES) for (const secret of c.secrets) expect(out).not.toContain(secret);
  });
});

describe('redact: ordinary log text', () => {
  it.each(BENIGN_LINES.map((b) => [b.name, b.line] as const))('keeps %s unchanged', (_name, line) => {
    expect(redact(line)).toBe(line);
  });

  it('keeps the benign corpus unchanged when joined into one log tail', () => {
    const tail = BENIGN_LINES.map((b) => b.line).join('\n');
    expect(redact(tail)).toBe(tail);
  });

  it('keeps a secret-named key with a placeholder or empty value', () => {
    for (const line of ['password=', 'token: null', '"password": ""', 'password=******', 'DB_PASSWORD=${DB_PASSWORD}']) {
      expect(redact(line)).toBe(line);
    }
  });
});

describe('redact: output shape', () => {
  it('keeps scheme, user and host of a URL with a password', () => {
    expect(redact('postgres://app:Sup3rS3cret!@db.shop:5432/orders')).toBe(`postgres://app:${REDACTED}@db.shop:5432/orders`);
  });

  it('keeps the key of a key=value secret', () => {
    expect(redact('db-password=Tr0ub4dor-horse')).toBe(`db-password=${REDACTED}`);
  });

  it('keeps the Authorization scheme', () => {
    expect(redact('Authorization: Bearer abcdefghijklmnop1234567890')).toBe(`Authorization: Bearer ${REDACTED}`);
  });
});

describe('redactDeep', () => {
  it('masks strings under secret-named keys and redacts every other string', () => {
    // Arrange
    const value = {
      labels: { app: 'web', 'db-password': 'correct horse battery staple' },
      annotations: { note: 'connect with postgres://app:S3cr3tP4ss@db:5432/app' },
      list: ['plain', 'token=Zr7Yk2Wq9Lm4Tx8Vb3Nc'],
      count: 3,
      missing: null,
    };
    // Act
    const out = redactDeep(value);
    // Assert
    expect(out.labels).toEqual({ app: 'web', 'db-password': REDACTED });
    expect(out.annotations.note).toBe(`connect with postgres://app:${REDACTED}@db:5432/app`);
    expect(out.list).toEqual(['plain', `token=${REDACTED}`]);
    expect(out.count).toBe(3);
    expect(out.missing).toBeNull();
  });
});

describe('redactDeep: structures as the cluster and the healer hold them', () => {
  it('masks the value of a name/value pair whose name names a secret, as in a pod\'s env', () => {
    // Prepare
    const env = [
      { name: 'DB_HOST', value: 'orders-db' },
      { name: 'DB_PASSWORD', value: 'Rq8Lm3Zx' },
      { Name: '/prod/orders/api-token', Type: 'SecureString', Value: 'Tq4Wz8Lm2Xk' },
    ];
    // Act
    const out = redactDeep(env);
    // Assess
    expect(out).toEqual([
      { name: 'DB_HOST', value: 'orders-db' },
      { name: 'DB_PASSWORD', value: REDACTED },
      { Name: '/prod/orders/api-token', Type: 'SecureString', Value: REDACTED },
    ]);
  });

  it('reads a container\'s command and args as one command line', () => {
    // Prepare: the flag in one item, its value in the next; mysql's -p in args, mysql in command
    const container = { name: 'migrate', command: ['mysql'], args: ['-h', 'orders-db', '-uroot', '-pT9wLq2Vz'], env: ['--api-key', 'Wm2Xq9Kz4Tp7'] };
    // Act
    const out = redactDeep(container);
    // Assess
    expect(out.command).toEqual(['mysql']);
    expect(out.args).toEqual(['-h', 'orders-db', '-uroot', `-p${REDACTED}`]);
    expect(out.env).toEqual(['--api-key', REDACTED]);
  });

  it('keeps identifiers under names that only sometimes hold keys (taints, Secret references)', () => {
    // Prepare
    const spec = {
      taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }],
      secretKeyRef: { name: 'db-creds', key: 'DB_PASSWORD' },
      cache: { key: 'Xk2pQ9vLr7Tw' },
    };
    // Act
    const out = redactDeep(spec);
    // Assess
    expect(out.taints).toEqual(spec.taints);
    expect(out.secretKeyRef).toEqual(spec.secretKeyRef);
    expect(out.cache).toEqual({ key: REDACTED });
  });

  it('redacts keys too, and nesting deeper than it walks as JSON text', () => {
    // Prepare
    let deep: Record<string, unknown> = { note: 'password=Vk9Tq3Wx' };
    for (let i = 0; i < 40; i++) deep = { level: deep };
    const value = { 'token=Zr7Yk2Wq9Lm4Tx8Vb3Nc': 1, deep };
    // Act
    const json = JSON.stringify(redactDeep(value));
    // Assess
    expect(json).not.toContain('Zr7Yk2Wq9Lm4Tx8Vb3Nc');
    expect(json).not.toContain('Vk9Tq3Wx');
    expect(json).toContain('token=[REDACTED]');
  });

  it('is idempotent on the corpus held as structures', () => {
    const value = { lines: SECRET_CASES.map((c) => c.line), pairs: SECRET_CASES.map((c) => ({ name: c.shape, value: c.line })) };
    const once = redactDeep(value);
    expect(redactDeep(once)).toEqual(once);
  });
});

// --- properties ---------------------------------------------------------------------------------

/** Uniform random text from a seed: fast-check's own character arbitraries favour repeats, real keys do not. */
function randomText(seed: number, length: number, alphabet: string): string {
  let state = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out += alphabet[(state >>> 0) % alphabet.length];
  }
  return out;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

const seed = fc.integer({ min: 1, max: 0x7fffffff });
/** A password-like value: random, with an upper-case letter and a digit, never a placeholder word. */
const password = fc.tuple(seed, fc.integer({ min: 8, max: 32 }), fc.constantFrom('', '!', '%25', '*', '.', '-', '#')).map(
  ([s, n, sym]) => `Q7${randomText(s, n, ALNUM)}${sym}`,
);

interface Generated {
  readonly text: string;
  readonly secret: string;
}

const secretKeyName = fc.constantFrom(
  'password', 'DB_PASSWORD', 'passwd', 'secret', 'client_secret', 'token', 'GITHUB_TOKEN', 'api_key',
  'apiKey', 'x-api-key', 'access_key', 'aws_secret_access_key', 'private_key', 'credentials', 'session',
  'SESSION_SECRET', 'AccountKey', 'sig', 'auth_token',
);

/** Provider prefix, body length, body alphabet. */
const PREFIXED: readonly (readonly [string, number, string])[] = [
  ['ghp_', 36, ALNUM], ['gho_', 36, ALNUM], ['github_pat_', 82, `${ALNUM}_`], ['glpat-', 20, B64URL],
  ['xoxb-', 40, `${ALNUM}-`], ['sk_live_', 60, ALNUM], ['npm_', 36, ALNUM], ['pypi-AgEIcHlwaS5vcmc', 60, B64URL],
  ['sk-ant-api03-', 90, B64URL], ['sk-proj-', 100, B64URL], ['AIza', 35, B64URL], ['hvs.', 90, B64URL],
  ['SK', 32, HEX], ['ya29.', 100, B64URL],
];

const GENERATED_SECRETS: fc.Arbitrary<Generated>[] = [
  // key=value, key: value, "key": "value", key = 'value'
  fc.tuple(secretKeyName, fc.constantFrom('=', ': ', ' = ', '='), password, fc.constantFrom('', '"', "'")).map(([key, sep, value, q]) => ({
    text: `${key}${sep}${q}${value}${q}`,
    secret: value,
  })),
  fc.tuple(secretKeyName, password).map(([key, value]) => ({ text: `{"${key}":"${value}","ok":true}`, secret: value })),
  // passwords in URLs
  fc.tuple(fc.constantFrom('postgres', 'mysql', 'mongodb+srv', 'redis', 'amqp', 'https'), fc.constantFrom('app', '', 'svc-user'), password).map(
    ([scheme, user, pass]) => ({ text: `${scheme}://${user}:${pass}@db.shop.svc:5432/x`, secret: pass }),
  ),
  // Authorization headers
  fc.tuple(fc.constantFrom('Bearer', 'Basic', 'token'), seed, fc.integer({ min: 20, max: 80 })).map(([scheme, s, n]) => {
    const token = randomText(s, n, B64URL);
    return { text: `Authorization: ${scheme} ${token}`, secret: token };
  }),
  // JWTs
  fc.tuple(seed, fc.integer({ min: 10, max: 120 }), fc.integer({ min: 20, max: 90 })).map(([s, n, m]) => {
    const signature = randomText(s + 1, m, B64URL);
    return { text: `eyJhbGciOiJSUzI1NiJ9.eyJ${randomText(s, n, B64URL)}.${signature}`, secret: signature };
  }),
  // prefixed provider tokens
  fc.tuple(fc.constantFrom(...PREFIXED), seed).map(([[prefix, n, alphabet], s]) => {
    const body = randomText(s, n, alphabet);
    return { text: `${prefix}${body}`, secret: body };
  }),
  // AWS access key ids
  seed.map((s) => {
    const id = `AKIA${randomText(s, 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
    return { text: id, secret: id };
  }),
  // PEM private keys
  fc.tuple(seed, fc.constantFrom('RSA PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PRIVATE KEY')).map(([s, type]) => {
    const body = randomText(s, 64, `${ALNUM}+/`);
    return { text: `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----`, secret: body };
  }),
  // high-entropy tokens in free text (40 random alphanumerics, as an AWS secret key without slashes)
  seed.map((s) => {
    const token = `aZ9${randomText(s, 40, ALNUM)}`;
    return { text: token, secret: token };
  }),  // a flag and its value as neighbouring items of a pod spec's args (JSON, pretty JSON, YAML)
  fc.tuple(fc.constantFrom('--db-password', '--token', '--api-key', '-storepass', '--client-secret'), password, fc.constantFrom('","', '", "', '",\n    "')).map(
    ([flag, value, sep]) => ({ text: `"args":["${flag}${sep}${value}"]`, secret: value }),
  ),
  fc.tuple(fc.constantFrom('--db-password', '--token', '--requirepass'), password).map(([flag, value]) => ({ text: `args:\n- ${flag}\n- ${value}\n`, secret: value })),
  // program-specific short flags
  fc.tuple(fc.constantFrom('mysql -uroot -p', 'mysqldump -h db -p', 'redis-cli -a ', 'sshpass -p ', 'mongosh -u app -p ', 'curl -u deploy:'), password).map(
    ([command, value]) => ({ text: `${command}${value}`, secret: value }),
  ),
  // a pod's env as name/value pairs
  fc.tuple(fc.constantFrom('DB_PASSWORD', 'API_TOKEN', 'STRIPE_SECRET_KEY', 'JWT_SECRET'), password, fc.constantFrom('json', 'yaml', 'go')).map(([name, value, form]) => ({
    text: form === 'json' ? `{"name":"${name}","value":"${value}"}` : form === 'yaml' ? `- name: ${name}\n  value: ${value}\n` : `&EnvVar{Name:${name},Value:${value},ValueFrom:nil,}`,
    secret: value,
  })),
  // Go header dumps
  fc.tuple(fc.constantFrom('X-Api-Key', 'X-Auth-Token', 'Authorization'), password, fc.constantFrom('json', 'map')).map(([header, value, form]) => ({
    text: form === 'json' ? `{"${header}":["${value}"]}` : `map[Accept:[*/*] ${header}:[${value}]]`,
    secret: value,
  })),
  // a URL password with a /, and a bare key=
  fc.tuple(password, password).map(([a, b]) => ({ text: `postgres://app:${a}/${b}@db:5432/app`, secret: `${a}/${b}` })),
  password.map((value) => ({ text: `?q=berlin&key=${value}`, secret: value })),
];

const generatedSecret = fc.oneof(...GENERATED_SECRETS);

const BENIGN_WORDS = [
  '2026-11-25T03:00:00Z', 'INFO', 'ERROR', 'level=warn', 'msg="retrying"', 'request', '3f2b8c1e-9d4a-4b7e-8f21-6a5c0e9d1b23',
  'sha256:00322445a8e8dd143eecbe0d25909745b88a06400960d537b3756e305d251e33', 'web-7d4b9c6f5-x2x9q', '10.0.3.7:8080',
  'took', '12ms', 'status=200', 'path=/api/v1/orders?id=42', 'connection', 'refused', 'exit', 'code', '137', 'at',
  'main.go:42', '{"level":"info"}', 'user=42', 'password_reset_requested', 'token', 'expired', '(using', 'password:', 'YES)',
];
const benignText = fc.oneof(
  fc.array(fc.constantFrom(...BENIGN_WORDS), { maxLength: 12 }).map((words) => words.join(' ')),
  fc.string({ maxLength: 60 }),
);
const boundary = fc.constantFrom(' ', '\n', '\t', ' | ', ', ', ' (', '; ');

describe('redact: properties', () => {
  it('is idempotent on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => redact(redact(s)) === redact(s)), { numRuns: 300 });
  });

  it('is idempotent on text made of secrets, corpus lines and the pieces rules look for', () => {
    const piece = fc.oneof(
      generatedSecret.map((g) => g.text),
      fc.constantFrom(...SECRET_CASES.map((c) => c.line), ...BENIGN_LINES.map((b) => b.line)),
      fc.constantFrom('password', 'token', 'Authorization', 'Cookie', 'Bearer', '=', ': ', ':', '"', "'", '\\"', '@', '://', '-----BEGIN X-----', REDACTED, `${REDACTED}(jwt)`, '\n', ' '),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const once = redact(pieces.join(''));
        return redact(once) === once;
      }),
      { numRuns: 500 },
    );
  });

  it('never lets a generated secret through, wherever it sits in benign text', () => {
    fc.assert(
      fc.property(benignText, boundary, generatedSecret, boundary, benignText, (before, sep1, g, sep2, after) => {
        const out = redact(`${before}${sep1}${g.text}${sep2}${after}`);
        return !out.includes(g.secret) && out.includes(REDACTED);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and grows text by at most a marker per match', () => {
    const MAX_GROWTH_PER_MARKER = 32;
    const text = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.string({ maxLength: 400, unit: 'binary' }),
      fc.array(fc.oneof(generatedSecret.map((g) => g.text), benignText), { maxLength: 8 }).map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(text, (input) => {
        const out = redact(input);
        return out.length <= input.length + MAX_GROWTH_PER_MARKER * count(out, REDACTED);
      }),
      { numRuns: 500 },
    );
  });
});
