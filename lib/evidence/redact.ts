/**
 * The one redaction step. Every piece of cluster text that leaves the cluster (model request,
 * notification, audit entry) passes through here, so a secret masked here is masked everywhere.
 *
 * Order: PEM blocks, token shapes with known prefixes, webhook URLs, free-text bearer/basic
 * credentials, long high-entropy tokens, CLI flags, URL and DSN credentials, and last secrets
 * named by their key (key=value, JSON, YAML, headers, cookies).
 *
 * Linear time: every regex starts with a literal, or at the start of a token (a lookbehind of, or
 * a consumed character outside, its own token class), so a run of characters is entered once;
 * no quantifier is nested in another unbounded one, and a quantifier followed by something that
 * can still fail is bounded. Hand-written scans read a bounded window unless they consume what
 * they read.
 */

export const REDACTED = '[REDACTED]';

const tag = (kind: string): string => `${REDACTED}(${kind})`;
const MARKER = /^\[REDACTED\](?:\([a-z0-9-]{1,20}\))?$/;
const isMarker = (s: string): boolean => MARKER.test(s);
const LEADING_MARKER = /^\[REDACTED\](?:\([a-z0-9-]{1,20}\))?/;

/**
 * A value an earlier rule already masked: markers, then nothing or what follows a masked URL
 * password or PEM block (@host, /path, \n). Anything else after a marker is masked again.
 * `complete` is false when only the start of the value is known.
 */
function alreadyRedacted(value: string, complete = true): boolean {
  let rest = value;
  let markers = 0;
  for (let m = LEADING_MARKER.exec(rest); m !== null; m = LEADING_MARKER.exec(rest)) {
    rest = rest.slice(m[0].length);
    markers++;
  }
  return markers > 0 && (rest === '' ? complete : /^[@/\\]/.test(rest));
}

type Rule = (text: string) => string;

const regexRule =
  (pattern: RegExp, replace: (match: string, ...groups: string[]) => string): Rule =>
  (text) =>
    text.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);

// --- PEM --------------------------------------------------------------------------------------

// Any PEM block, private or not (certificates are harmless to mask). A block whose END was cut off
// by the log budget masks the rest of the text: the key body would otherwise leak line by line.
const PEM = /-----BEGIN [A-Z0-9 ]{1,60}-----[\s\S]*?(?:-----END [A-Z0-9 ]{1,60}-----|$)/g;
// Base64 of "-----BEGIN" (kubeconfig client-key-data, Secret data).
const PEM_BASE64 = /(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g;

// --- token shapes with known prefixes -----------------------------------------------------------

interface Shape {
  readonly kind: string;
  readonly source: string;
  /** Extra check for shapes whose prefix alone is not specific enough. */
  readonly accept?: (token: string) => boolean;
}

const hasMixedClasses = (s: string): boolean => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s);

const SHAPES: readonly Shape[] = [
  // JWTs, Kubernetes service-account tokens included; an unsigned JWT has an empty third part.
  { kind: 'jwt', source: 'eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*' },
  { kind: 'aws-key-id', source: '(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|AKPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}(?![A-Za-z0-9])' },
  { kind: 'aws-session-token', source: '(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9+/=]{20,}' },
  { kind: 'github', source: 'gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}' },
  { kind: 'gitlab', source: 'gl(?:pat|dt|rt|ptt|cbt|soat|ft|imt)-[A-Za-z0-9_-]{20,}' },
  { kind: 'slack', source: 'xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}' },
  { kind: 'stripe', source: '(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}' },
  { kind: 'sendgrid', source: 'SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}' },
  { kind: 'twilio', source: '(?:AC|SK)[0-9a-f]{32}(?![A-Za-z0-9])' },
  { kind: 'npm', source: 'npm_[A-Za-z0-9]{36,}' },
  { kind: 'pypi', source: 'pypi-Ag[A-Za-z0-9_-]{40,}' },
  { kind: 'api-key', source: 'sk-(?:ant|proj|svcacct|admin)-[A-Za-z0-9_-]{20,}' },
  // Older OpenAI keys: "sk-" and 48 alphanumerics; the class check spares names like sk-learn-….
  { kind: 'api-key', source: 'sk-[A-Za-z0-9]{32,}(?![A-Za-z0-9_-])', accept: (t) => hasMixedClasses(t.slice(3)) },
  { kind: 'google', source: 'AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{20,}|ya29\\.[A-Za-z0-9_-]{20,}' },
  { kind: 'vault', source: 'hv[sbr]\\.[A-Za-z0-9_-]{20,}' },
  { kind: 'docker', source: 'dckr_pat_[A-Za-z0-9_-]{20,}' },
  { kind: 'digitalocean', source: 'do[opr]_v1_[a-f0-9]{64}' },
  { kind: 'shopify', source: 'shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}' },
  { kind: 'openshift', source: 'sha256~[A-Za-z0-9_-]{40,}' },
  { kind: 'newrelic', source: 'NRAK-[A-Z0-9]{27}' },
  // No free-text kubeadm bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}): an alternative without a
  // literal start makes this pass several times slower; --token and token: catch it by name.
];

// One pass for all shapes, tried only at token starts. The start is a consumed non-token character
// rather than a lookbehind, which lets V8 skip ahead on the literal prefixes (several times faster).
// The match runs on to the end of the token so a marker never ends mid-token (a token glued to the
// end would otherwise be found only on a second pass).
const SHAPE_PATTERN = new RegExp(
  `(^|[^A-Za-z0-9_-])(?:${SHAPES.map((s) => `(${s.source})`).join('|')})[A-Za-z0-9_-]*`,
  'g',
);

function maskShapes(text: string): string {
  return text.replace(SHAPE_PATTERN, (match: string, lead: string, ...groups: unknown[]) => {
    const index = groups.findIndex((g, i) => i < SHAPES.length && typeof g === 'string');
    const shape = SHAPES[index];
    if (shape === undefined) return match;
    const token = match.slice(lead.length);
    return shape.accept === undefined || shape.accept(token) ? `${lead}${tag(shape.kind)}` : match;
  });
}

// --- credentials inside URLs and DSNs -----------------------------------------------------------

// scheme://user:password@host (postgres, mysql, mongodb+srv, redis, amqp, http…). The user info
// runs to the last @ before the path, so an unencoded @, # or ? in a password is covered too.
// Scheme and host are kept; they are what makes the line useful. Found from the literal ://, so
// the scheme is not matched at all (scanning for it at every word was the slowest rule).
const URL_USERINFO = /(:\/\/)([^\s/"'<>`]*)@/g;

function maskUrlUserinfo(match: string, sep: string, userinfo: string): string {
  // Something in it is masked already; a second look could only widen the mask (not idempotent).
  if (userinfo.includes(REDACTED)) return match;
  const colon = userinfo.indexOf(':');
  if (colon < 0) {
    // A lone user that looks like a key (Sentry DSN, https://<token>@github.com).
    return userinfo.length >= 16 && /[0-9]/.test(userinfo) ? `${sep}${REDACTED}@` : match;
  }
  if (colon === userinfo.length - 1) return match;
  return `${sep}${userinfo.slice(0, colon)}:${REDACTED}@`;
}

// Go MySQL driver DSN without a scheme: user:password@tcp(host:3306)/db. Found by its literal
// suffix, then the user info is read backwards (bounded).
const GO_DSN = /@(?:tcp|unix)\(/g;

function maskGoDsn(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(GO_DSN)) {
    const at = m.index;
    let start = at;
    // Stops include every character that ends a named value, so masking one never widens a DSN.
    while (start > 0 && at - start < 320 && !/[\s"'`=,;&\\(]/.test(text[start - 1] ?? ' ')) start--;
    const colonInToken = text.slice(start, at).indexOf(':');
    const colon = start + colonInToken;
    if (colonInToken < 0 || colon >= at - 1 || start < last) continue;
    if (alreadyRedacted(text.slice(colon + 1, at))) continue;
    out += `${text.slice(last, colon + 1)}${REDACTED}`;
    last = at;
  }
  return last === 0 ? text : out + text.slice(last);
}

// Incoming-webhook URLs carry their secret in the path.
const WEBHOOK_URL =
  /(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/)[A-Za-z0-9_/-]+/g;

// --- free-text bearer / basic credentials -------------------------------------------------------

// "Bearer xyz" anywhere. The token must look like a credential so "basic authentication" survives.
const BEARER = /(?<![A-Za-z0-9_-])(bearer|basic)([ \t]{1,8})([A-Za-z0-9._~+/-]{8,}=*)/gi;

function looksLikeCredential(token: string): boolean {
  if (/[0-9+/=]/.test(token)) return true;
  const upper = token.replace(/[^A-Z]/g, '').length;
  return upper >= 2 && upper < token.length - 1;
}

// --- secrets named by their key -------------------------------------------------------------------

type KeyKind = 'secret' | 'authorization' | 'cookie' | 'set-cookie';

// A key is secret when it ends with one of these names, case-insensitively, words joined by _ . -
// or nothing: DB_PASSWORD, aws_secret_access_key, clientSecret, x-api-key, AccountKey,
// client-key-data, _authToken. "pass" is excluded after English words (bypass, compass…);
// "password_reset_requested" and "token_ttl" do not end with a secret name and stay readable.
const S = '[_.-]?';
const SECRET_KEY = new RegExp(
  `(?:pass(?:word|wd|phrase|wort)|pwd|(?<!by|com|over|under|sur|tres|im)pass|secret|token|` +
    `(?:api|access|secret|private|signing|encryption|master|account|app|application|license|auth|session|ssh|tls)${S}key|` +
    `key${S}data|credentials?|creds|session(?:${S}id)?|sessid|auth|signature|sig|dsn|` +
    `conn(?:ection)?${S}str(?:ing)?|webhook${S}url|cookie|authorization)$`,
  'i',
);

function classifyKey(key: string): KeyKind | null {
  // Only the end matters; testing the tail keeps long keys cheap.
  if (!SECRET_KEY.test(key.length > 32 ? key.slice(-32) : key)) return null;
  const norm = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (norm === 'authorization' || norm === 'proxyauthorization') return 'authorization';
  if (norm === 'setcookie') return 'set-cookie';
  if (norm === 'cookie') return 'cookie';
  return 'secret';
}

// Values that say nothing about a secret and are worth keeping: "(using password: YES)", token: null.
const PLACEHOLDER =
  /^(?:null|nil|none|undefined|true|false|yes|no|enabled|disabled|empty|unset|required|\*+|x{3,}|-|<nil>|<none>|<redacted>|<hidden>|redacted|\$\{?[A-Za-z_][A-Za-z0-9_]{0,63}\}?)$/i;

// A key, an optional closing quote (possibly escaped, as in JSON inside a JSON log), then = or =>
// (spaces allowed before) or : (no space before: "volume "x" : secret" is prose, not a key). The
// key starts after a consumed non-key character (faster than a lookbehind); the scan loop steps
// back one character after each match so the separator can start the next key.
const KEY = /(^|[^A-Za-z0-9_.-])(-{0,2}[A-Za-z_][A-Za-z0-9_.-]{0,79})(\\{0,3}["']?)(?:[ \t]{0,4}(=>|=)|(:)(?!\/\/))([ \t]{0,4})/g;

// Where an unquoted value ends. Passwords may contain ) ] } @ and : , so those do not end it.
// Tables by char code: the value loop is the hot path of this rule.
const stopTable = (chars: string, whitespace: boolean): Uint8Array => {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  if (whitespace) for (const c of ' \t\n\r\f\v') table[c.charCodeAt(0)] = 1;
  return table;
};
const VALUE_END = stopTable(',;&"\'`\\', true);
const HEADER_VALUE_END = stopTable('\r\n"\'\\', false);
// Non-ASCII whitespace ends a value too.
const isStop = (table: Uint8Array, code: number): boolean =>
  code < 128 ? table[code] === 1 : table === VALUE_END && /\s/.test(String.fromCharCode(code));

interface Value {
  readonly start: number;
  readonly end: number;
  readonly quoted: boolean;
  /** False when reading stopped at the limit: the value goes on. */
  readonly complete: boolean;
}

/**
 * Decisions to keep a value look at this much of it (enough for a key and its separator); only a
 * value being masked is read whole, so repeated keys cannot make the scan quadratic.
 */
const VALUE_WINDOW = 96;

function readValue(text: string, pos: number, kind: KeyKind, limit: number): Value {
  const max = Math.min(text.length, pos + limit);
  let i = pos;
  while (text[i] === '\\' && i - pos < 3) i++;
  const q = text[i];
  if (q === '"' || q === "'") {
    // Opened by a quote escaped k times (JSON inside a JSON log): closed by one escaped k times.
    const k = i - pos;
    const start = i + 1;
    let j = start;
    for (; j < max; j++) {
      const c = text[j];
      if (c === '\n' || c === '\r') break;
      if (c === '\\' && k === 0) {
        j++;
        continue;
      }
      if (c === q) {
        let b = 0;
        while (b < j - start && text[j - 1 - b] === '\\') b++;
        if (b === k) break;
      }
    }
    const closed = j < max && text[j] === q;
    const end = Math.min(j, max) - (closed ? k : 0);
    return { start, end, quoted: true, complete: j < max || max === text.length };
  }
  const stop = kind === 'secret' ? VALUE_END : HEADER_VALUE_END;
  let j = i;
  for (;;) {
    while (j < max && !isStop(stop, text.charCodeAt(j))) j++;
    // A quote right after = or : opens a nested value (password: token='x'): take it whole.
    const c = text[j];
    const prev = text[j - 1];
    if (j >= max || j === i || (c !== '"' && c !== "'") || (prev !== '=' && prev !== ':')) break;
    let close = j + 1;
    while (close < max && text[close] !== c && text[close] !== '\n') close++;
    if (close >= max || text[close] !== c) break;
    j = close + 1;
  }
  return { start: i, end: j, quoted: false, complete: j < max || max === text.length };
}

/** Text between the start of the line and the key is only indentation, "- " or an opening quote. */
function keyStartsLine(text: string, keyStart: number): boolean {
  for (let i = keyStart - 1; i >= 0 && keyStart - i <= 64; i--) {
    const c = text[i];
    if (c === '\n') return true;
    if (c === '"' || c === "'") return i === keyStart - 1;
    if (c !== ' ' && c !== '\t' && c !== '-') return false;
  }
  return keyStart <= 64;
}

function maskHeaderValue(kind: KeyKind, value: string): string {
  if (kind === 'authorization') {
    // Keep the scheme (Bearer, Basic, AWS4-HMAC-SHA256): it helps diagnosis and is not secret.
    const m = /^([A-Za-z][A-Za-z0-9-]{0,30})([ \t]{1,8})(\S[^]*)$/.exec(value);
    if (m?.[3] !== undefined) return isMarker(m[3]) ? value : `${m[1]}${m[2]}${REDACTED}`;
    return REDACTED;
  }
  // Cookie: every value; Set-Cookie: the first pair only (Path, Expires… are attributes).
  let first = true;
  const masked = value.replace(/([^\s=;]{1,256})=([^;]*)/g, (pair: string, name: string, v: string) => {
    if (kind === 'set-cookie' && !first) return pair;
    first = false;
    const trimmed = v.trim();
    return trimmed === '' || isMarker(trimmed) ? pair : `${name}=${REDACTED}`;
  });
  return first ? REDACTED : masked;
}

const LEADING_KEY = /^[^A-Za-z0-9_.-]{0,8}(-{0,2}[A-Za-z_][A-Za-z0-9_.-]{0,79})(?:(=|:(?!\/\/))|$)/;

/**
 * "password: password = x", "password=(token: x": the value starts with a secret key and its
 * separator. Masking it as a value would hide that key from the next match and leak its value.
 * Decided on the start of the value, which a later mask of the inner value does not change.
 */
function valueIsNextKey(raw: string, after: string): boolean {
  const m = LEADING_KEY.exec(raw);
  if (m === null || classifyKey(m[1] ?? '') === null) return false;
  return m[2] !== undefined || /^[ \t]{0,4}(?:=|:(?!\/\/))/.test(after);
}

function maskNamedSecrets(text: string): string {
  let out = '';
  let last = 0;
  KEY.lastIndex = 0;
  for (let m = KEY.exec(text); m !== null; m = KEY.exec(text)) {
    const sepEnd = KEY.lastIndex;
    // Let the separator (never a key character) be the lead of the next key.
    KEY.lastIndex = sepEnd - 1;
    const key = m[2] ?? '';
    const kind = classifyKey(key);
    if (kind === null) continue;
    const value = decide(text, m, kind, sepEnd);
    if (value === null) continue;
    out += text.slice(last, value.start) + value.replacement;
    last = value.end;
    KEY.lastIndex = value.end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** What to replace after one secret-named key, or null to keep the value. */
function decide(
  text: string,
  m: RegExpExecArray,
  kind: KeyKind,
  sepEnd: number,
): { start: number; end: number; replacement: string } | null {
  const keyStart = m.index + (m[1] ?? '').length;
  const w = readValue(text, sepEnd, kind, VALUE_WINDOW);
  const head = text.slice(w.start, w.end);
  // Empty, already masked, or the opening of a JSON/YAML structure whose own keys come next.
  if (w.complete && (head.trim() === '' || head === '{' || head === '[')) return null;
  if (alreadyRedacted(head, w.complete)) return null;

  if (kind !== 'secret') {
    // The header owns the rest of its line, so it is read whole and never looked at again.
    const v = w.complete ? w : readValue(text, sepEnd, kind, Infinity);
    const raw = w.complete ? head : text.slice(v.start, v.end);
    const masked = maskHeaderValue(kind, raw);
    return { start: v.start, end: v.end, replacement: masked };
  }

  if (!w.quoted && valueIsNextKey(head, w.complete ? text.slice(w.end, w.end + 6) : '')) return null;
  const key = m[2] ?? '';
  const closingQuote = m[3] ?? '';
  const colon = m[5] !== undefined;
  const spaceAfter = (m[6] ?? '') !== '';
  const bare = head.replace(/[).,;:\]}]+$/, '');
  if (w.complete && PLACEHOLDER.test(bare)) return null;
  // PWD=/app in an environment dump is the working directory.
  if (/^(?:old)?pwd$/i.test(key) && /^[/~]/.test(head)) return null;
  // host:port, as in "dial tcp auth:8080".
  if (colon && !spaceAfter && !w.quoted && /^[0-9]{1,5}(?![A-Za-z0-9])/.test(head)) return null;
  // Prose ("failed to refresh token: expired"): mid-line key, ": ", a plain lowercase word.
  const quotedKey = closingQuote !== '' && text[keyStart - 1] === closingQuote.at(-1);
  const prose = colon && spaceAfter && !quotedKey && !w.quoted && !keyStartsLine(text, keyStart);
  if (prose && w.complete && (/^[a-z]+$/.test(bare) || /^[a-z0-9]+:$/.test(head))) return null;

  const v = w.complete ? w : readValue(text, sepEnd, kind, Infinity);
  return { start: v.start, end: v.end, replacement: REDACTED };
}

// --password hunter2, --token abc (the = form is a key=value above).
const FLAG = /(?<![A-Za-z0-9_.-])(--[A-Za-z][A-Za-z0-9_.-]{0,79})([ \t]{1,4})([^\s"'`-][^\s"'`]*)/g;

function maskFlag(match: string, flag: string, ws: string, value: string): string {
  if (classifyKey(flag) !== 'secret' || alreadyRedacted(value) || PLACEHOLDER.test(value)) return match;
  return `${flag}${ws}${REDACTED}`;
}

// --- high entropy -------------------------------------------------------------------------------

// Consumed lead instead of a lookbehind (faster); padding only where the token really ends, so
// the lead of a token glued after it is not swallowed.
const HIGH_ENTROPY_CANDIDATE = /(^|[^A-Za-z0-9+/_-])([A-Za-z0-9+/_-]{32,}(?:={1,2}(?![A-Za-z0-9+/_-]))?)/g;
const HEX_ID = /^[0-9a-fA-F-]+$/;

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
 * Long random-looking tokens are secrets until proven otherwise. Hex (image digests, commit ids,
 * trace ids, UUIDs) is kept: it identifies things and is not a credential by shape. So are
 * absolute paths (/var/lib/kubelet/pods/…) and generated names, whose words and digits would
 * pass the entropy test.
 */
function looksRandom(candidate: string): boolean {
  if (HEX_ID.test(candidate)) return false;
  if (candidate.startsWith('/') && candidate.indexOf('/', 1) > 0) return false;
  // Generated names (role/eksctl-prod-nodegroup-NodeInstanceRole-1ABC2DEF3GHI): two or more
  // lowercase words between separators; random base64url almost never has them.
  if (candidate.split(/[-_/]/).filter((part) => /^[a-z]{2,}$/.test(part)).length >= 2) return false;
  return hasMixedClasses(candidate) && shannonBitsPerChar(candidate) >= 4.0;
}

function maskHighEntropy(text: string): string {
  return text.replace(HIGH_ENTROPY_CANDIDATE, (match: string, lead: string, candidate: string) =>
    // Judged without padding: whether = was taken depends on what follows, which masks change.
    looksRandom(candidate.replace(/=+$/, '')) ? `${lead}${tag('entropy')}` : match,
  );
}

// --- the pipeline -------------------------------------------------------------------------------

// Idempotence rests on the order: no rule may create a match for an earlier one. Markers start
// with [ and end with ] or ), outside every token class, so they never join tokens. Entropy may
// swallow a leading - or an inner /, which decide flags and URL user info, so those come after
// it; named values end at characters no earlier rule's tokens contain, so names come last.
const RULES: readonly Rule[] = [
  regexRule(PEM, () => tag('pem')),
  regexRule(PEM_BASE64, () => tag('pem')),
  maskShapes,
  regexRule(WEBHOOK_URL, (_m, prefix: string) => `${prefix}${REDACTED}`),
  regexRule(BEARER, (m, scheme: string, ws: string, token: string) =>
    looksLikeCredential(token) ? `${scheme}${ws}${REDACTED}` : m,
  ),
  maskHighEntropy,
  regexRule(FLAG, maskFlag),
  regexRule(URL_USERINFO, maskUrlUserinfo),
  maskGoDsn,
  maskNamedSecrets,
];

/** Masks every secret shape we know. Idempotent: redact(redact(x)) === redact(x). */
export function redact(text: string): string {
  let out = text;
  for (const rule of RULES) out = rule(out);
  return out;
}

/**
 * Redacts every string inside a JSON-like value (labels, annotations, audit details). A string
 * under a secret-named key ({ "db-password": "…" }) is masked whatever it looks like.
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value, false) as T;
}

function redactValue(value: unknown, secretKey: boolean): unknown {
  if (typeof value === 'string') {
    if (secretKey && value.trim() !== '' && !isMarker(value) && !PLACEHOLDER.test(value)) return REDACTED;
    return redact(value);
  }
  if (Array.isArray(value)) return value.map((v: unknown) => redactValue(v, secretKey));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = redactValue(v, secretKey || classifyKey(k) !== null);
    }
    return out;
  }
  return value;
}
