/**
 * The one redaction step. Every piece of cluster text that leaves the cluster (model request,
 * notification, audit entry) passes through here, so a secret masked here is masked everywhere.
 * Rules are ordered: specific shapes first, then generic `name=value` secrets, then entropy.
 */

export const REDACTED = '[REDACTED]';

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  /** Replacement; may keep a non-secret prefix group such as the key name. */
  readonly replace: string | ((match: string, ...groups: string[]) => string);
}

const SECRET_KEY_NAMES =
  '(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth|authorization|credentials?|session[_-]?id|cookie|signature)';

const RULES: readonly Rule[] = [
  {
    name: 'pem-block',
    pattern: /-----BEGIN [A-Z0-9 ]*(?:PRIVATE KEY|CERTIFICATE|OPENSSH PRIVATE KEY)-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|$)/g,
    replace: `${REDACTED}(pem)`,
  },
  {
    name: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g,
    replace: `${REDACTED}(jwt)`,
  },
  {
    name: 'bearer',
    pattern: /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
    replace: (_m, scheme: string) => `${scheme} ${REDACTED}`,
  },
  { name: 'aws-access-key-id', pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b/g, replace: `${REDACTED}(aws-key-id)` },
  { name: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b/g, replace: `${REDACTED}(github)` },
  { name: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, replace: `${REDACTED}(slack)` },
  { name: 'anthropic-or-openai-key', pattern: /\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}\b/g, replace: `${REDACTED}(api-key)` },
  { name: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: `${REDACTED}(google-key)` },
  { name: 'stripe-key', pattern: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g, replace: `${REDACTED}(stripe)` },
  {
    // scheme://user:password@host — keep scheme, user and host so the log stays useful.
    name: 'url-credentials',
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s@/]+)@/gi,
    replace: (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`,
  },
  {
    // Connection strings: Password=...; AccountKey=...; SharedAccessKey=...
    name: 'connection-string-secret',
    pattern: /\b((?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=\s*)([^;\s"']+)/gi,
    replace: (_m, key: string) => `${key}${REDACTED}`,
  },
  {
    // "password": "..." in JSON, and password: ... in YAML-ish logs.
    name: 'json-secret',
    pattern: new RegExp(`("(?:[A-Za-z0-9_-]*${SECRET_KEY_NAMES}[A-Za-z0-9_-]*)"\\s*:\\s*")([^"]*)(")`, 'gi'),
    replace: (_m, pre: string, _v: string, post: string) => `${pre}${REDACTED}${post}`,
  },
  {
    name: 'key-value-secret',
    pattern: new RegExp(`\\b([A-Za-z0-9_.-]*${SECRET_KEY_NAMES}[A-Za-z0-9_.-]*\\s*[=:]\\s*)(?!\\[REDACTED\\])("[^"]*"|'[^']*'|[^\\s,;&]+)`, 'gi'),
    replace: (_m, key: string) => `${key}${REDACTED}`,
  },
];

const HIGH_ENTROPY_CANDIDATE = /\b[A-Za-z0-9+/_-]{32,}={0,2}/g;
const HEX_ONLY = /^[0-9a-f]+$/i;

function shannonBitsPerChar(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * Long random-looking tokens are secrets until proven otherwise. Hex strings (image digests,
 * commit ids, trace ids) are kept: they identify things and are not credentials by shape.
 */
function maskHighEntropy(text: string): string {
  return text.replace(HIGH_ENTROPY_CANDIDATE, (candidate) => {
    if (HEX_ONLY.test(candidate)) return candidate;
    const hasDigit = /\d/.test(candidate);
    const hasUpper = /[A-Z]/.test(candidate);
    const hasLower = /[a-z]/.test(candidate);
    if (!(hasDigit && hasUpper && hasLower)) return candidate;
    return shannonBitsPerChar(candidate) >= 4.0 ? `${REDACTED}(entropy)` : candidate;
  });
}

/** Masks every secret shape we know. Idempotent: redact(redact(x)) === redact(x). */
export function redact(text: string): string {
  let out = text;
  for (const rule of RULES) {
    out = out.replace(rule.pattern, rule.replace as (substring: string, ...args: string[]) => string);
  }
  return maskHighEntropy(out);
}

/** Redacts every string inside a JSON-like value (labels, annotations, audit details). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
