import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { redact, REDACTED } from '../../lib/evidence/redact.js';

// A first corpus; the full 40-shape corpus is part of the evidence work (issue 3).
const SECRETS: readonly [string, string][] = [
  ['AWS key id', 'using AKIAIOSFODNN7EXAMPLE for s3'],
  ['JWT', 'token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ['bearer header', 'Authorization: Bearer abcdefghijklmnop1234567890'],
  ['password in URL', 'connecting to postgres://app:Sup3rS3cret!@db.shop.svc:5432/orders'],
  ['connection string', 'Server=tcp:sql.example.net;Database=x;User Id=sa;Password=hunter2hunter2;'],
  ['json secret', '{"user":"bob","password":"correct horse battery staple"}'],
  ['key=value', 'DB_PASSWORD=swordfish123 starting worker'],
  ['PEM', '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----'],
  ['anthropic key', 'ANTHROPIC sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  ['github token', 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'],
];

const SECRET_VALUES = ['AKIAIOSFODNN7EXAMPLE', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'abcdefghijklmnop1234567890', 'Sup3rS3cret!', 'hunter2hunter2', 'correct horse battery staple', 'swordfish123', 'MIIEowIBAAKCAQEA7', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'];

describe('redact', () => {
  it.each(SECRETS)('masks a %s', (_name, line) => {
    const out = redact(line);
    expect(out).toContain(REDACTED);
    for (const secret of SECRET_VALUES) expect(out).not.toContain(secret);
  });

  it('keeps ordinary log text readable', () => {
    const line = '2026-11-25T03:00:00Z request 3f2b8c1e-9d4a-4b7e-8f21-6a5c0e9d1b23 image sha256:9b2a4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0 took 12ms';
    expect(redact(line)).toBe(line);
  });

  it('is idempotent (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => redact(redact(s)) === redact(s)), { numRuns: 300 });
  });
});
