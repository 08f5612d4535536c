/**
 * The one redaction step. Every piece of cluster text that leaves the cluster (model request,
 * notification, audit entry) passes through here, so a secret masked here is masked everywhere.
 *
 * Order: the decoded text of JSON string literals with escapes (through all the rules below),
 * PEM blocks (wrapped headers too) and PuTTY keys, token shapes with known prefixes,
 * webhook URLs, free-text bearer/basic credentials, long high-entropy tokens, CLI flags (also as
 * neighbouring list items of a pod spec), program-specific command lines, SQL and protocol
 * passwords, URL and DSN credentials, XML elements, secrets named by their key (key=value, JSON,
 * YAML, headers, cookies, header dumps), name/value pairs (a pod's env), and command lines again.
 *
 * Linear time: every regex starts with a literal, or at the start of a token (a lookbehind of, or
 * a consumed character outside, its own token class), so a run of characters is entered once;
 * no quantifier is nested in another unbounded one, and a quantifier followed by something that
 * can still fail is bounded. Hand-written scans read a bounded window unless they consume what
 * they read.
 */

export const REDACTED = '[REDACTED]';

const tag = (kind: string): string => `${REDACTED}(${kind})`;
const LEADING_MARKER = /^\[REDACTED\](?:\([a-z0-9-]{1,20}\))?/;

/**
 * A value an earlier rule already masked: markers, then nothing or what follows a masked URL
 * password or PEM block (@host, /path, \n), and with `quoteAfter` the quote that closed a masked
 * value inside a header. Anything else after a marker is masked again.
 * `complete` is false when only the start of the value is known.
 */
function alreadyRedacted(value: string, complete = true, quoteAfter = false): boolean {
  let rest = value;
  let markers = 0;
  for (let m = LEADING_MARKER.exec(rest); m !== null; m = LEADING_MARKER.exec(rest)) {
    rest = rest.slice(m[0].length);
    markers++;
    // Markers separated by blanks ("[REDACTED] [REDACTED]") are still only markers.
    const gap = /^[ \t]+(?=\[REDACTED\])/.exec(rest);
    if (gap) rest = rest.slice(gap[0].length);
  }
  return markers > 0 && (rest === '' ? complete : (quoteAfter ? /^[@/\\"']/ : /^[@/\\]/).test(rest));
}

type Rule = (text: string) => string;

const regexRule =
  (pattern: RegExp, replace: (match: string, ...groups: string[]) => string): Rule =>
  (text) =>
    text.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);

// --- PEM --------------------------------------------------------------------------------------

// Whitespace inside a PEM header line, literal or escaped as in a JSON log (\n, \r, \t).
const PEM_SPACE = String.raw`(?:[ \t\r\n]|\\[nrt])`;
// "-----BEGIN RSA PRIVATE KEY-----", also when a terminal or a logger wrapped it ("-----BEGIN RSA PRIVATE\nKEY-----",
// "PRIV\nATE", "KEY---\n--"): dashes, the word, upper-case words separated by (escaped) whitespace, dashes.
// Words and separators are disjoint classes and every quantifier is bounded.
const pemLine = (word: string): string =>
  `-{3,5}${PEM_SPACE}{0,4}${word}(?:${PEM_SPACE}{1,4}[A-Z0-9]{1,24}){1,8}${PEM_SPACE}{0,4}(?:-{5}|-{1,4}(?:${PEM_SPACE}{1,4}-{1,4})?)`;
// Any PEM block, private or not (certificates are harmless to mask). A block whose END was cut off
// by the log budget masks the rest of the text: the key body would otherwise leak line by line.
const PEM = new RegExp(`${pemLine('BEGIN')}[\\s\\S]*?(?:${pemLine('END')}|$)`, 'g');
// Base64 of "-----BEGIN" (kubeconfig client-key-data, Secret data).
const PEM_BASE64 = /(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g;

// PuTTY private keys (.ppk): "Private-Lines: N" and N lines of base64, then a MAC over the key.
const PUTTY_PRIVATE = /(Private-Lines:[ \t]*)([0-9]{1,3})[ \t]*\r?\n/g;

function maskPuttyKeys(text: string): string {
  if (!text.includes('Private-Lines:')) return text;
  let out = '';
  let last = 0;
  PUTTY_PRIVATE.lastIndex = 0;
  for (let m = PUTTY_PRIVATE.exec(text); m !== null; m = PUTTY_PRIVATE.exec(text)) {
    let end = PUTTY_PRIVATE.lastIndex;
    if (text.startsWith(REDACTED, end)) continue;
    for (let n = Number(m[2]); n > 0 && end < text.length; n--) {
      const nl = text.indexOf('\n', end);
      end = nl < 0 ? text.length : nl + 1;
    }
    // The MAC line after the key, and nothing else.
    const mac = /^Private-MAC:[ \t]*[0-9a-fA-F]+/.exec(text.slice(end, end + 160));
    if (mac) end += mac[0].length;
    else if (text[end - 1] === '\n') end--;
    out += `${text.slice(last, m.index)}${m[1]}${m[2]}\n${tag('putty')}`;
    last = end;
    PUTTY_PRIVATE.lastIndex = end;
  }
  return last === 0 ? text : out + text.slice(last);
}

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
  // Base64 of a Docker config ({"auths": …}, compact or indented): a .dockerconfigjson value.
  { kind: 'docker-config', source: '(?:eyJhdXRocyI6|ewogICJhdXRocyI6|ewogICAgImF1dGhz|ewoJImF1dGhz|eyAiYXV0aHMi)[A-Za-z0-9+/=]*' },
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
  { kind: 'api-key', source: 'sk-(?:ant|proj|svcacct|admin|None|or)-[A-Za-z0-9_-]{20,}|xai-[A-Za-z0-9]{40,}|gsk_[A-Za-z0-9]{40,}|hf_[A-Za-z0-9]{30,}' },
  // Older OpenAI keys: "sk-" and 48 alphanumerics; the class check spares names like sk-learn-….
  { kind: 'api-key', source: 'sk-[A-Za-z0-9]{32,}(?![A-Za-z0-9_-])', accept: (t) => hasMixedClasses(t.slice(3)) },
  { kind: 'google', source: 'AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{20,}|ya29\\.[A-Za-z0-9_-]{20,}|1//0[A-Za-z0-9_-]{30,}' },
  { kind: 'vault', source: 'hv[sbr]\\.[A-Za-z0-9_-]{20,}' },
  { kind: 'docker', source: 'dckr_pat_[A-Za-z0-9_-]{20,}' },
  { kind: 'digitalocean', source: 'do[opr]_v1_[a-f0-9]{64}' },
  { kind: 'shopify', source: 'shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}' },
  { kind: 'openshift', source: 'sha256~[A-Za-z0-9_-]{40,}' },
  { kind: 'newrelic', source: 'NRAK-[A-Z0-9]{27}' },
  { kind: 'databricks', source: 'dapi[0-9a-f]{32}(?:-[0-9]{1,2})?' },
  { kind: 'atlassian', source: 'ATATT3[A-Za-z0-9_=-]{40,}|ATBB[A-Za-z0-9]{28,}' },
  { kind: 'mailgun', source: 'key-[0-9a-f]{32}(?![A-Za-z0-9])' },
  { kind: 'square', source: 'sq0(?:atp|csp|idp)-[A-Za-z0-9_-]{20,}' },
  { kind: 'linear', source: 'lin_api_[A-Za-z0-9]{32,}' },
  { kind: 'postman', source: 'PMAK-[a-f0-9]{24}-[a-f0-9]{34}' },
  { kind: 'grafana', source: 'glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2}' },
  { kind: 'sentry', source: 'sntry[su]_[A-Za-z0-9+/=_-]{30,}' },
  { kind: 'age', source: 'AGE-SECRET-KEY-1[0-9A-Z]{50,}' },
  { kind: 'doppler', source: 'dp\\.(?:pt|st|ct|sa|scim|audit)\\.[A-Za-z0-9]{32,}' },
  { kind: 'pulumi', source: 'pul-[a-f0-9]{40}' },
  { kind: 'gitlab', source: 'GR1348941[A-Za-z0-9_-]{20,}' },
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

// Microsoft Entra ID (Azure AD) client secrets: three characters, a digit, "Q~", 31-34 more. The ~
// and . in them split the token for the entropy rule, so they get their own shape, looked for only
// where the literal Q~ occurs.
// A marker next to it counts as more of the run, as the text it replaced did (idempotence).
const ENTRA_SECRET = /(^|[^A-Za-z0-9_~.\-\])])([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.[-])/g;

function maskEntraSecrets(text: string): string {
  return text.includes('Q~') ? text.replace(ENTRA_SECRET, (_m, lead: string) => `${lead}${tag('entra')}`) : text;
}

// --- credentials inside URLs and DSNs -----------------------------------------------------------

// scheme://user:password@host (postgres, mysql, mongodb+srv, redis, amqp, http…). The user info
// runs to the last @ before the path, so an unencoded @, # or ? in a password is covered too.
// Scheme and host are kept; they are what makes the line useful. Found from the literal ://, so
// the scheme is not matched at all (scanning for it at every word was the slowest rule).
const URL_USERINFO = /(:\/\/)([^\s/"'<>`]*)@/g;

// The same with an unencoded / in the password (postgres://app:q9X/3kLm@db): not a valid URL, but
// drivers and people write it. The user has no / or :, the password runs to the @ (bounded), and a
// password that starts with digits and a / is a port and a path (https://host:8443/u/bob@x.org).
const URL_USERINFO_SLASH = /(:\/\/)([^\s/:@"'<>`]{0,128}):([^\s/@"'<>`]{0,256}\/[^\s@"'<>`]{0,256})@/g;

function maskUrlUserinfoSlash(match: string, sep: string, user: string, password: string): string {
  if (password.includes(REDACTED) || /^[0-9]{1,5}\//.test(password)) return match;
  return `${sep}${user}:${REDACTED}@`;
}

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

// Oracle's thin driver: jdbc:oracle:thin:scott/tiger@host:1521/ORCL.
const JDBC_ORACLE = /(jdbc:oracle:(?:thin|oci8?):)([^\s/@:"']{1,128})\/([^\s@"']{1,256})@/g;

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
  /(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/|webhook\.office\.com\/webhookb2\/|outlook\.office(?:365)?\.com\/webhook\/|api\.telegram\.org\/(?:file\/)?bot)[A-Za-z0-9_/:@-]+/g;

// --- free-text bearer / basic credentials -------------------------------------------------------

// "Bearer xyz" anywhere. The token must look like a credential so "basic authentication" survives.
const BEARER = /(?<![A-Za-z0-9_-])(bearer|basic)([ \t]{1,8})([A-Za-z0-9._~+/-]{8,}=*)/gi;

function looksLikeCredential(token: string): boolean {
  if (/[0-9+/=]/.test(token)) return true;
  const upper = token.replace(/[^A-Z]/g, '').length;
  return upper >= 2 && upper < token.length - 1;
}

// --- secrets named by their key -------------------------------------------------------------------

/**
 * secret: the value is masked whatever it looks like. weak: the name often holds a credential but
 * as often an identifier (key: tls.crt, partition_key=eu-west-1#…, a taint's key), so the value is
 * masked when it looks like a credential (credentialLike). The others keep the header's scheme or
 * the cookie names.
 */
type KeyKind = 'secret' | 'weak' | 'authorization' | 'cookie' | 'set-cookie';

// A key is secret when it ends with one of these names, case-insensitively, words joined by _ . -
// or nothing: DB_PASSWORD, aws_secret_access_key, clientSecret, x-api-key, AccountKey,
// client-key-data, _authToken. "pass" is excluded after English words (bypass, compass…);
// "password_reset_requested" and "token_ttl" do not end with a secret name and stay readable.
// A short suffix may follow: an index or version (PASSWORD2, api_key_v2), a stage (DB_PASSWORD_PROD,
// TOKEN_OLD) or an encoding (PASSWORD_B64, credentials_json).
const S = '[_.-]?';
const SECRET_NAME =
  `(?:pass(?:word|wd|phrase|wort)|pwd|(?<!by|com|over|under|sur|tres|im)pass|(?:bind|(?<![a-z]))pw|secret|token|` +
  `(?<![a-z])(?:bearer|jwt|salt)|` +
  `(?:api|access|secret|private|signing|encryption|master|account|app|application|license|auth|session|ssh|tls|` +
  `hmac|subscription|functions?|sas|logged${S}in|nonce)${S}key|secret${S}key${S}base|` +
  `key${S}data|credentials?|creds|session(?:${S}id)?|sessid|(?:^|[_.-])(?<!account[_.-])sid|auth|signature|sig|dsn|` +
  `api${S}hash|pass(?:word)?${S}hash|pwd${S}hash|conn(?:ection)?${S}str(?:ing)?|webhook${S}url|cookie|authorization|` +
  `docker${S}config${S}json|dockercfg)`;
const SECRET_SUFFIX =
  `(?:${S}(?:[0-9]{1,3}|v[0-9]{1,2}|prod|production|staging|stage|dev|live|old|new|current|prev|previous|next|` +
  `b64|base64|enc|encoded|encrypted|json|value|raw|plain|plaintext|string|data))?`;
const SECRET_KEY = new RegExp(`${SECRET_NAME}${SECRET_SUFFIX}$`, 'i');
// Headers named X-…-Key (X-Functions-Key, x-amz-server-side-encryption-customer-key) carry keys.
const X_HEADER_KEY = /^-{0,2}x-(?:[a-z0-9]+-){0,8}key$/i;
// Any other name ending with the word "key": key, cache_key, primaryKey, Ocp-…-Key. Not public keys.
const WEAK_KEY = /(?:^|[_.\- ])key$|[a-z0-9]Key$/;
const PUBLIC_KEY = /(?:^|[_.\- ])pub(?:lic)?[_.-]?key$/i;

function classifyKey(key: string): KeyKind | null {
  // Only the end matters; testing the tail keeps long keys cheap.
  const tail = key.length > 32 ? key.slice(-32) : key;
  if (!SECRET_KEY.test(tail)) {
    if (X_HEADER_KEY.test(tail)) return 'secret';
    const bare = tail.replace(/^-{1,2}/, '');
    return (WEAK_KEY.test(bare) || /^KEY$/.test(bare)) && !PUBLIC_KEY.test(bare) && !/pub(?:lic)?key$/i.test(bare) ? 'weak' : null;
  }
  const norm = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (norm === 'authorization' || norm === 'proxyauthorization') return 'authorization';
  if (norm === 'setcookie') return 'set-cookie';
  if (norm === 'cookie') return 'cookie';
  return 'secret';
}

const isBareKey = (key: string): boolean => /^-{0,2}key$/i.test(key);

// A word an identifier is made of: lower, upper, capitalised, camelCase or CamelCase letters, or a
// short alphanumeric (k8s, e2e, az1, v2) or number.
const IDENTIFIER_PART =
  /^(?:[a-z]+(?:[A-Z][a-z]+)*|[A-Z]+|(?:[A-Z][a-z]+)+|(?=[a-z0-9]{1,5}$)[a-z]*[0-9]?[a-z]*[0-9]?[a-z]*|[0-9]{1,4})$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Whether a value under a weak name is a credential rather than an identifier: token characters
 * only, and not made of identifier words (tls.crt, node.kubernetes.io/unreachable, DB_PASSWORD,
 * k8s-app, uploads/2026/11/a.png). A bare "key" takes 6 characters and more. A longer name such
 * as cache_key or ownerKey takes a random-looking run of 12 or more between separators (an object
 * path like local/shop/ReplicaSet/web-7d4b9c has none), and a UUID under it is an idempotency or
 * cache key, not a credential.
 */
function credentialLike(value: string, bareKey: boolean): boolean {
  // A bare key's value may hold symbols (password-like); a longer name's value with # or : is an
  // identifier (partition_key=eu-west-1#2026-11-25, cache_key=orders:42).
  const chars = bareKey ? /^[A-Za-z0-9+/=_.~!*%#$^@&-]+$/ : /^[A-Za-z0-9+/=_.~-]+$/;
  if (value.length < (bareKey ? 6 : 16) || !chars.test(value)) return false;
  if (UUID.test(value)) return bareKey;
  if (!/[A-Za-z]/.test(value)) return false;
  const parts = value.replace(/=+$/, '').split(/[._/-]/).filter((part) => part !== '' && !IDENTIFIER_PART.test(part));
  if (parts.length === 0) return false;
  const random = (part: string): boolean =>
    /[0-9]/.test(part) || (part.length >= 20 && /[A-Z]/.test(part) && /[a-z]/.test(part) && shannonBitsPerChar(part) >= 3.5);
  if (bareKey) return random(value);
  return parts.some((part) => part.length >= 12 && random(part));
}

// Values that say nothing about a secret and are worth keeping: "(using password: YES)", token: null.
const PLACEHOLDER =
  /^(?:null|nil|none|undefined|true|false|yes|no|enabled|disabled|empty|unset|required|\*+|x{3,}|-|<nil>|<none>|<redacted>|<hidden>|redacted|\$\{?[A-Za-z_][A-Za-z0-9_]{0,63}\}?)$/i;

/** What to put in place of a value under a named key, or the value itself when it stays. */
function maskedValue(kind: KeyKind, value: string, bareKey: boolean): string {
  const trimmed = value.trim();
  if (trimmed === '' || alreadyRedacted(trimmed) || PLACEHOLDER.test(trimmed)) return value;
  if (kind === 'weak') return credentialLike(trimmed, bareKey) ? REDACTED : value;
  if (kind === 'secret') return REDACTED;
  return maskHeaderValue(kind, value);
}

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
  code < 128 ? table[code] === 1 : table !== HEADER_VALUE_END && /\s/.test(String.fromCharCode(code));

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
  // ODBC quotes a value containing ; in braces: PWD={p@ss;word}. Not "{" followed by a quote,
  // space or bracket, which opens a structure or a template.
  // The closing brace is looked for within the same window whatever the limit, so every read of
  // the value agrees; a longer braced value is read as an ordinary one.
  if (q === '{' && i === pos && (kind === 'secret' || kind === 'weak') && !/["'\\\s{}[\]]/.test(text[i + 1] ?? ' ')) {
    const braceMax = Math.min(text.length, pos + VALUE_WINDOW);
    let j = i + 1;
    while (j < braceMax && text[j] !== '}' && text[j] !== '\n' && text[j] !== '\r') j++;
    // Only when the brace ends the value: text glued after it would make a second pass differ.
    const ends = j + 1 >= text.length || isStop(VALUE_END, text.charCodeAt(j + 1));
    if (j < braceMax && text[j] === '}' && ends) return { start: i, end: j + 1, quoted: false, complete: true };
  }
  const stop = kind === 'secret' || kind === 'weak' ? VALUE_END : HEADER_VALUE_END;
  let j = i;
  for (;;) {
    while (j < max && !isStop(stop, text.charCodeAt(j))) j++;
    // A quote right after = or : opens a nested value (password: token='x'): take it whole.
    const c = text[j];
    const prev = text[j - 1];
    if (j >= max || j === i || (c !== '"' && c !== "'") || (prev !== '=' && prev !== ':')) break;
    let close = j + 1;
    while (close < max && text[close] !== c && text[close] !== '\n') close++;
    // The window ended inside the nested value: the value goes on (Digest response="…" at the end).
    if (close >= max && max < text.length) return { start: i, end: close, quoted: false, complete: false };
    // A header owns the rest of its line: a quote that never closes does not end it (the closing
    // quote may be gone with a value masked before).
    if (stop === HEADER_VALUE_END && (close >= max || text[close] !== c)) {
      j = close;
      break;
    }
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
    if (m?.[3] !== undefined) return alreadyRedacted(m[3], true, true) ? value : `${m[1]}${m[2]}${REDACTED}`;
    return REDACTED;
  }
  if (kind === 'secret' || kind === 'weak') return REDACTED;
  // Cookie: every value; Set-Cookie: the first pair only (Path, Expires… are attributes).
  let first = true;
  // A cookie's name has no quotes: a quote belongs to the text the header was read from.
  const masked = value.replace(/([^\s=;"']{1,256})=([^;]*)/g, (pair: string, name: string, v: string) => {
    if (kind === 'set-cookie' && !first) return pair;
    first = false;
    const trimmed = v.trim();
    return trimmed === '' || alreadyRedacted(trimmed, true, true) ? pair : `${name}=${REDACTED}`;
  });
  // No name=value pair: the whole value, unless a rule after this one masked in it already (an
  // empty pair's name, AUTH's word): masking again would make a second pass differ.
  return first && !value.includes(REDACTED) ? REDACTED : masked;
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
    // After an escaped newline or tab in JSON text ("…\\nAuthorization: …"), the n or t is not the key's.
    const raw = m[2] ?? '';
    const key = m[1] === '\\' && /^[nrt][A-Za-z_]/.test(raw) ? raw.slice(1) : raw;
    const kind = classifyKey(key);
    if (kind === null) continue;
    const value = decide(text, m, key, kind, sepEnd);
    if (value === null) continue;
    out += text.slice(last, value.start) + value.replacement;
    last = value.end;
    KEY.lastIndex = value.end;
  }
  return last === 0 ? text : out + text.slice(last);
}

interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/**
 * A list after a secret name: each string of a JSON list ({"X-Api-Key":["s3cr3t"]}, Go's
 * http.Header{"Authorization":[]string{"Bearer …"}}), or the whole of a Go slice
 * (map[Authorization:[Bearer …] X-Api-Key:[s3cr3t]]). Undefined when the text is no such list; a
 * list that is read is consumed whole, changed or not. Lists of objects or lists are structures whose
 * own keys come next.
 */
function maskList(text: string, pos: number, kind: KeyKind, bareKey: boolean): Replacement | null | undefined {
  const goLiteral = text.startsWith('[]string{', pos);
  if (!goLiteral && (text[pos] !== '[' || text.startsWith(REDACTED, pos))) return undefined;
  const close = goLiteral ? '}' : ']';
  let i = pos + (goLiteral ? 9 : 1);
  const ws = /[ \t\r\n]/;
  for (let n = 0; n < 64 && ws.test(text[i] ?? ''); n++) i++;
  let q = i;
  while (text[q] === '\\' && q - i < 3) q++;
  if (text[q] === '"' || text[q] === "'") {
    let out = text.slice(pos, i);
    for (;;) {
      const k = q - i;
      const v = readValue(text, i, 'secret', Infinity);
      const closing = `${'\\'.repeat(k)}${text[q] ?? ''}`;
      out += text.slice(i, v.start) + maskedValue(kind, text.slice(v.start, v.end), bareKey);
      i = v.end;
      if (!text.startsWith(closing, i)) return { start: pos, end: i, replacement: out };
      out += closing;
      i += closing.length;
      let j = i;
      for (let n = 0; n < 64 && ws.test(text[j] ?? ''); n++) j++;
      if (text[j] === close) return { start: pos, end: j + 1, replacement: out + text.slice(i, j + 1) };
      if (text[j] !== ',') return { start: pos, end: i, replacement: out };
      j++;
      for (let n = 0; n < 64 && ws.test(text[j] ?? ''); n++) j++;
      q = j;
      while (text[q] === '\\' && q - j < 3) q++;
      if (text[q] !== '"' && text[q] !== "'") return { start: pos, end: i, replacement: out };
      out += text.slice(i, j);
      i = j;
    }
  }
  const structure = /[{[\]\r\n]/.test(text[i] ?? '\n') && !text.startsWith(REDACTED, i);
  if (goLiteral || i !== pos + 1 || structure) return text[i] === close ? null : undefined;
  // A Go slice: up to its ], on the line, stepping over markers already in it.
  let j = i;
  while (j < text.length && j - i < VALUE_WINDOW && text[j] !== ']' && text[j] !== '\n' && text[j] !== '\r') {
    const marker = text.startsWith(REDACTED, j) ? LEADING_MARKER.exec(text.slice(j, j + 40)) : null;
    j += marker ? marker[0].length : 1;
  }
  if (text[j] !== ']') return undefined;
  const inner = text.slice(i, j);
  // Only plain header values ([Bearer …], [s3cr3t], [a=b; c=d] for cookies): text with quotes,
  // braces, colons or inner = holds other keys, and masking those would change where this ] is.
  const cookie = kind === 'cookie' || kind === 'set-cookie';
  if (/["'{}:]/.test(inner) || (!cookie && /=(?!=*$)/.test(inner))) return undefined;
  return { start: i, end: j, replacement: maskedValue(kind, inner, bareKey) };
}

/** Indentation of the line a position is on (spaces, tabs and YAML list dashes). */
function lineIndent(text: string, pos: number): number {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  let i = lineStart;
  while (i < pos && (text[i] === ' ' || text[i] === '\t' || text[i] === '-')) i++;
  return i - lineStart;
}

const YAML_BLOCK_INDICATOR = /^[|>][-+]?[0-9]?$/;

/**
 * A YAML block scalar after a secret name (password: |, value: >-): its lines, those indented
 * deeper than the key's, become one marker line. Undefined when the value is no block indicator
 * or the block is empty; null when it is masked already.
 */
function maskYamlBlock(text: string, keyStart: number, value: Value): Replacement | null | undefined {
  if (!YAML_BLOCK_INDICATOR.test(text.slice(value.start, value.end))) return undefined;
  let i = value.end;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] === '\r') i++;
  if (text[i] !== '\n') return undefined;
  const start = i;
  const keyIndent = lineIndent(text, keyStart);
  let end = start;
  let indent = -1;
  // At most 512 lines: a longer block is masked that far (bounded work per key).
  for (let line = start + 1, n = 0; line <= text.length && n < 512; n++) {
    const nl = text.indexOf('\n', line);
    const lineEnd = nl < 0 ? text.length : nl;
    const content = text.slice(line, lineEnd);
    const own = content.length - content.trimStart().length;
    if (content.trim() !== '') {
      if (own <= keyIndent) break;
      if (indent < 0) indent = own;
    }
    end = lineEnd;
    if (nl < 0) break;
    line = nl + 1;
  }
  if (indent < 0) return undefined;
  const body = text.slice(start, end).trim();
  if (alreadyRedacted(body)) return null;
  return { start, end, replacement: `\n${' '.repeat(indent)}${REDACTED}` };
}

/** What to replace after one secret-named key, or null to keep the value. */
function decide(text: string, m: RegExpExecArray, key: string, kind: KeyKind, sepEnd: number): Replacement | null {
  const keyStart = m.index + (m[1] ?? '').length + (m[2] ?? '').length - key.length;
  const bareKey = isBareKey(key);
  const list = maskList(text, sepEnd, kind, bareKey);
  if (list !== undefined) return list;
  const w = readValue(text, sepEnd, kind, VALUE_WINDOW);
  const head = text.slice(w.start, w.end);
  // Empty, already masked, or the opening of a JSON/YAML structure whose own keys come next.
  if (w.complete && (head.trim() === '' || head === '{' || head === '[')) return null;
  if (alreadyRedacted(head, w.complete)) return null;

  if (kind !== 'secret' && kind !== 'weak') {
    // The header owns the rest of its line, so it is read whole and never looked at again.
    const v = w.complete ? w : readValue(text, sepEnd, kind, Infinity);
    const raw = w.complete ? head : text.slice(v.start, v.end);
    const masked = maskHeaderValue(kind, raw);
    return { start: v.start, end: v.end, replacement: masked };
  }

  if (!w.quoted && w.complete) {
    const block = maskYamlBlock(text, keyStart, w);
    if (block !== undefined) return block;
  }
  if (!w.quoted && valueIsNextKey(head, w.complete ? text.slice(w.end, w.end + 6) : '')) return null;
  const closingQuote = m[3] ?? '';
  const colon = m[5] !== undefined;
  const spaceAfter = (m[6] ?? '') !== '';
  const bare = head.replace(/[).,;:\]}]+$/, '');
  if (w.complete && PLACEHOLDER.test(bare)) return null;
  if (kind === 'weak' && !credentialLike(w.quoted ? head : bare, bareKey)) return null;
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

// --- command lines --------------------------------------------------------------------------------

// --password hunter2, -storepass changeit, --token "abc def" (the = form is a key=value above).
const FLAG = /(?<![A-Za-z0-9_.-])(--?[A-Za-z][A-Za-z0-9_.-]{0,79})[ \t]{1,4}(?=[^\s-])/g;
const FLAG_VALUE = /[^\s"'`]*/y;

function maskFlags(text: string): string {
  let out = '';
  let last = 0;
  FLAG.lastIndex = 0;
  for (let m = FLAG.exec(text); m !== null; m = FLAG.exec(text)) {
    const flag = m[1] ?? '';
    const kind = classifyKey(flag);
    if (kind === null) continue;
    const pos = FLAG.lastIndex;
    let start = pos;
    let end: number;
    let q = pos;
    while (text[q] === '\\' && q - pos < 3) q++;
    if (text[q] === '"' || text[q] === "'") {
      const v = readValue(text, pos, 'secret', Infinity);
      start = v.start;
      end = v.end;
    } else if (text[pos] === '`') {
      continue;
    } else {
      FLAG_VALUE.lastIndex = pos;
      FLAG_VALUE.exec(text);
      end = FLAG_VALUE.lastIndex;
    }
    const value = text.slice(start, end);
    if (value === '' || alreadyRedacted(value) || PLACEHOLDER.test(value)) continue;
    if (kind === 'weak' && !credentialLike(value, isBareKey(flag))) continue;
    out += text.slice(last, start) + REDACTED;
    last = end;
    FLAG.lastIndex = end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * A flag or header name and its value as neighbours in a list: container args and commands as a
 * pod spec holds them (["--db-password","Xk2p"], pretty-printed over lines too), Node's rawHeaders
 * (['Authorization', 'Bearer …']). The name must be a flag (leading -) or a header name, so a list
 * of words ("token", "expired") is left alone. The value is read by readValue (escapes, JSON in JSON).
 */
const LIST_PAIR = /(\\{0,3}["'])(-{0,2}[A-Za-z][A-Za-z0-9_.-]{0,79})\1[ \t]{0,4},[ \t\r\n]{0,64}(?=\\{0,3}["'])/g;
// The same as a YAML list: "- --db-password\n- Xk2p".
const YAML_LIST_PAIR = /(?<![A-Za-z0-9_.-])(--?[A-Za-z][A-Za-z0-9_.-]{0,79})(["']?[ \t]{0,8}\r?\n[ \t]{0,64}-[ \t]{1,8})(?=[^\s-])/g;

function listNeighbourKind(name: string): KeyKind | null {
  const kind = classifyKey(name);
  if (kind === null) return null;
  if (name.startsWith('-')) return kind;
  if (kind === 'authorization' || kind === 'cookie' || kind === 'set-cookie') return kind;
  return /^x-/i.test(name) && kind !== 'weak' ? kind : null;
}

function maskListNeighbours(pattern: RegExp): Rule {
  return (text) => {
    let out = '';
    let last = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const name = pattern === LIST_PAIR ? (m[2] ?? '') : (m[1] ?? '');
      const kind = listNeighbourKind(name);
      if (kind === null) continue;
      const pos = pattern.lastIndex;
      const v = readValue(text, pos, kind === 'weak' ? 'secret' : kind, Infinity);
      const raw = text.slice(v.start, v.end);
      if (v.end === v.start || (!v.quoted && raw.startsWith('-'))) continue;
      // A neighbour followed by : is a JSON key ({"name":"Authorization","value":…}), not a value.
      if (v.quoted && /^\\{0,3}["'][ \t]{0,4}:/.test(text.slice(v.end, v.end + 8))) continue;
      const masked = maskedValue(kind, raw, isBareKey(name));
      if (masked === raw) continue;
      out += text.slice(last, v.start) + masked;
      last = v.end;
      pattern.lastIndex = v.end;
    }
    return last === 0 ? text : out + text.slice(last);
  };
}

/**
 * Short flags whose meaning depends on the program: mysql -pXk2p (glued; "-p" alone prompts),
 * redis-cli -a, sshpass -p, mongo -p, ldapsearch -w, sqlcmd -P, curl -u user:pass, smbclient -U
 * user%pass, docker/helm login -p, zip -P, 7z -pXk2p, openssl enc -k. "next" masks the following
 * word, "glued" what follows the flag in the same word, "both" either; "user:" and "user%" mask
 * what follows the first : or % of the value.
 */
type FlagMode = 'next' | 'glued' | 'both' | 'user:' | 'user%';
interface CommandSpec {
  readonly flags: Readonly<Record<string, FlagMode>>;
  /** A word that must come first (docker -p is a port unless it is docker login). */
  readonly after?: string;
  /** Positional words handled by the program's own rule (htpasswd, rabbitmqctl, sqlplus). */
  readonly positional?: (words: readonly string[]) => number | undefined;
}

const MYSQL: CommandSpec = { flags: { '-p': 'glued' } };
const MONGO: CommandSpec = { flags: { '-p': 'both' } };
const LDAP: CommandSpec = { flags: { '-w': 'both' } };
const MSSQL: CommandSpec = { flags: { '-P': 'both' } };
const LOGIN: CommandSpec = { flags: { '-p': 'both' }, after: 'login' };
const ORACLE: CommandSpec = {
  flags: {},
  // sqlplus scott/tiger@db: the first word that is not a flag.
  positional: (words) => {
    const i = words.findIndex((w) => !w.startsWith('-'));
    return i >= 0 && /^[^/@\s]+\/[^@\s]/.test(words[i] ?? '') ? i : undefined;
  },
};

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  mysql: MYSQL, mysqldump: MYSQL, mysqladmin: MYSQL, mysqlimport: MYSQL, mysqlcheck: MYSQL, mysqlshow: MYSQL,
  mysqlpump: MYSQL, mysqlsh: MYSQL, mariadb: MYSQL, 'mariadb-dump': MYSQL, 'mariadb-admin': MYSQL,
  'redis-cli': { flags: { '-a': 'next' } }, 'valkey-cli': { flags: { '-a': 'next' } },
  sshpass: { flags: { '-p': 'both' } },
  mongo: MONGO, mongosh: MONGO, mongodump: MONGO, mongorestore: MONGO, mongoexport: MONGO, mongoimport: MONGO,
  mongostat: MONGO, mongotop: MONGO, mongofiles: MONGO,
  ldapsearch: LDAP, ldapadd: LDAP, ldapmodify: LDAP, ldapdelete: LDAP, ldapwhoami: LDAP, ldappasswd: LDAP,
  ldapcompare: LDAP, ldapmodrdn: LDAP,
  sqlcmd: MSSQL, bcp: MSSQL, osql: MSSQL,
  curl: { flags: { '-u': 'user:', '--user': 'user:', '-U': 'user:', '--proxy-user': 'user:' } },
  smbclient: { flags: { '-U': 'user%', '--user': 'user%' } },
  docker: LOGIN, podman: LOGIN, nerdctl: LOGIN, buildah: LOGIN, skopeo: LOGIN, helm: LOGIN, oras: LOGIN, crane: LOGIN,
  az: LOGIN, oc: LOGIN, cf: LOGIN,
  // mc alias set NAME URL ACCESS_KEY SECRET_KEY (also the older mc config host add).
  mc: {
    flags: {},
    positional: (words) => {
      const i = words.findIndex((w, j) => (w === 'set' && words[j - 1] === 'alias') || (w === 'add' && words[j - 1] === 'host'));
      if (i < 0) return undefined;
      const args = words.map((w, j) => [w, j] as const).filter(([w, j]) => j > i && !w.startsWith('-'));
      return args[3]?.[1];
    },
  },
  // aws configure set aws_secret_access_key VALUE: the value after a secret-named setting.
  aws: {
    flags: {},
    positional: (words) => {
      const i = words.findIndex((w, j) => w === 'set' && words[j - 1] === 'configure');
      const name = words[i + 1];
      return i >= 0 && name !== undefined && classifyKey(name) !== null && words[i + 2] !== undefined ? i + 2 : undefined;
    },
  },
  zip: { flags: { '-P': 'next' } }, unzip: { flags: { '-P': 'next' } },
  '7z': { flags: { '-p': 'glued' } }, '7za': { flags: { '-p': 'glued' } }, '7zz': { flags: { '-p': 'glued' } },
  openssl: { flags: { '-k': 'next' } },
  htpasswd: {
    flags: {},
    // htpasswd -b[c] file user password, htpasswd -nb user password: the last word of the batch form.
    positional: (words) => {
      const opts = words.filter((w) => w.startsWith('-')).join('');
      if (!/^-[A-Za-z-]*b/.test(opts.replace(/(?!^)-/g, ''))) return undefined;
      const args = words.map((w, i) => [w, i] as const).filter(([w]) => !w.startsWith('-'));
      return args[/n/.test(opts) ? 1 : 2]?.[1];
    },
  },
  rabbitmqctl: {
    flags: {},
    // rabbitmqctl add_user NAME PASSWORD (also change_password, authenticate_user).
    positional: (words) => {
      const i = words.findIndex((w) => w === 'add_user' || w === 'change_password' || w === 'authenticate_user');
      if (i < 0) return undefined;
      const args = words.map((w, j) => [w, j] as const).filter(([w, j]) => j > i && !w.startsWith('-'));
      return args[1]?.[1];
    },
  },
  sqlplus: ORACLE, expdp: ORACLE, impdp: ORACLE, rman: ORACLE, sqlldr: ORACLE, dgmgrl: ORACLE,
};

// Consumed lead rather than a lookbehind (faster on this long alternation).
const COMMAND_WORD = new RegExp(
  `(?:^|[^A-Za-z0-9_.-])(${Object.keys(COMMANDS).map((c) => c.replace(/[-.]/g, '\\$&')).join('|')})(?![A-Za-z0-9_.@:-])`,
  'g',
);

const WORD_END = stopTable(',;&|()`<>{}"\'\\[]', true);

interface Word {
  readonly start: number;
  readonly end: number;
}

/**
 * The words of one command line after the program's name: plain, quoted ('…', "…", \"…\" in
 * JSON in JSON), or list items of a pod spec (",", "[", "]" and, in a list spread over lines,
 * newlines followed by a quote or a "- "). Ends at ; & | ( ) ` < >, at a newline that does not
 * continue the list, or after 48 words.
 */
function commandWords(text: string, from: number, stopAfter?: string, unlessAfter?: string): Word[] {
  let stop = stopAfter;
  const words: Word[] = [];
  let i = from;
  let prev = '';
  while (words.length < 48 && i < text.length) {
    const c = text[i] ?? '';
    // A marker is one word (its brackets are not list brackets).
    const marker = c === '[' && text.startsWith(REDACTED, i) ? LEADING_MARKER.exec(text.slice(i, i + 40)) : null;
    if (marker) {
      words.push({ start: i, end: i + marker[0].length });
      i += marker[0].length;
      prev = ']';
      continue;
    }
    if (c === ',' || c === '[' || c === ']' || (c !== '\n' && /\s/.test(c))) {
      if (c === ',' || c === '[' || c === ']') prev = c;
      i++;
      continue;
    }
    if (c === '\n') {
      let j = i + 1;
      while (j < text.length && j - i < 64 && (text[j] === ' ' || text[j] === '\t')) j++;
      const next = text[j] ?? '';
      if (!(prev === ',' || prev === '\\' || next === '"' || next === "'" || next === '-' || next === ']')) break;
      i = j;
      continue;
    }
    if (';&|()`<>{}'.includes(c)) break;
    let q = i;
    while (text[q] === '\\' && q - i < 3) q++;
    const quote = text[q];
    if (quote === '"' || quote === "'") {
      const v = readValue(text, i, 'secret', 512);
      words.push({ start: v.start, end: v.end });
      const close = v.end + (q - i) + 1;
      i = text[close - 1] === quote ? close : v.end;
      prev = quote;
      continue;
    }
    if (c === '\\') {
      prev = c;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && j - i < 512 && !isStop(WORD_END, text.charCodeAt(j))) j++;
    words.push({ start: i, end: j });
    prev = text[j - 1] ?? '';
    i = j;
    const length = j - (words[words.length - 1]?.start ?? j);
    if (unlessAfter !== undefined && length === unlessAfter.length && text.startsWith(unlessAfter, j - length)) stop = undefined;
    if (stop !== undefined && length === stop.length && text.startsWith(stop, j - length)) break;
  }
  return words;
}

function maskCommandLines(text: string): string {
  const edits: Replacement[] = [];
  COMMAND_WORD.lastIndex = 0;
  for (let m = COMMAND_WORD.exec(text); m !== null; m = COMMAND_WORD.exec(text)) {
    const spec = COMMANDS[m[1] ?? ''];
    if (spec === undefined) continue;
    // The program quoted as a list item ("mysql","-pX"): its closing quote is not a word's opening one.
    let from = COMMAND_WORD.lastIndex;
    const lead = m[0].length > (m[1] ?? '').length ? m[0][0] : '';
    if (lead === '"' || lead === "'") {
      let q = from;
      while (text[q] === '\\' && q - from < 3) q++;
      if (text[q] === lead) from = q + 1;
    }
    // The same program again starts its own line of words (found next): this one stops there,
    // the repeated word kept in case it is a flag's value. Keeps "curl curl curl …" cheap.
    // (docker login -u docker -p …: after its login word, a repeat may be a value, so it does not stop.)
    const words = commandWords(text, from, m[1], spec.after);
    const strings = words.map((w) => text.slice(w.start, w.end));
    const first = spec.after === undefined ? 0 : strings.indexOf(spec.after) + 1;
    if (first === 0 && spec.after !== undefined) continue;
    const mask = (start: number, end: number, mode: FlagMode): void => {
      let from = start;
      if (mode === 'user:' || mode === 'user%') {
        const sep = text.indexOf(mode === 'user:' ? ':' : '%', start);
        if (sep < 0 || sep >= end) return;
        from = sep + 1;
      }
      const value = text.slice(from, end);
      if (value === '' || alreadyRedacted(value) || PLACEHOLDER.test(value)) return;
      edits.push({ start: from, end, replacement: REDACTED });
    };
    for (let i = first; i < words.length; i++) {
      const word = strings[i] ?? '';
      const w = words[i];
      if (w === undefined) break;
      for (const [flag, mode] of Object.entries(spec.flags)) {
        // -p'Xk2p' and -p"Xk2p": a quoted value glued to the flag.
        const gluedQuote = word === flag && (text[w.end] === '"' || text[w.end] === "'" || text[w.end] === '\\');
        if (word === flag && (mode !== 'glued' || gluedQuote)) {
          const next = words[i + 1];
          if (next !== undefined && !(strings[i + 1] ?? '').startsWith('-')) mask(next.start, next.end, mode);
          i++;
          break;
        }
        if (word.startsWith(flag) && word.length > flag.length && mode !== 'next') {
          const eq = flag.startsWith('--') ? (word[flag.length] === '=' ? 1 : -1) : 0;
          if (eq >= 0) mask(w.start + flag.length + eq, w.end, mode);
          break;
        }
      }
    }
    const at = spec.positional?.(strings.slice(first));
    // A word that starts with - is a flag, never a positional value.
    const target = at === undefined || (strings[first + at] ?? '-').startsWith('-') ? undefined : words[first + at];
    if (target !== undefined) {
      const word = text.slice(target.start, target.end);
      if (spec === ORACLE) {
        const slash = word.indexOf('/');
        const atSign = word.indexOf('@', slash);
        mask(target.start + slash + 1, atSign < 0 ? target.end : target.start + atSign, 'next');
      } else mask(target.start, target.end, 'next');
    }
  }
  return applyEdits(text, edits);
}

/** Applies non-overlapping edits (overlaps keep the first); the text is unchanged without any. */
function applyEdits(text: string, edits: readonly Replacement[]): string {
  if (edits.length === 0) return text;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let last = 0;
  for (const e of sorted) {
    if (e.start < last) continue;
    out += text.slice(last, e.start) + e.replacement;
    last = e.end;
  }
  return out + text.slice(last);
}

// .netrc: "machine host login bob password hunter2", on one line or several.
const NETRC = /(?<![A-Za-z0-9_.-])(?:machine[ \t]+[^\s"'\\]{1,253}|default)(?=[ \t\r\n]+(?:login|account|password|passwd|macdef)[ \t])/g;

function maskNetrc(text: string): string {
  const edits: Replacement[] = [];
  NETRC.lastIndex = 0;
  for (let m = NETRC.exec(text); m !== null; m = NETRC.exec(text)) {
    // Up to 8 words after the machine, stopping at the next machine entry.
    // Words end at quotes and backslashes too: a .netrc shown inside a JSON string keeps its closing quote.
    const re = /[ \t\r\n]+([^\s"'\\]{1,512})/y;
    re.lastIndex = NETRC.lastIndex;
    for (let n = 0, w = re.exec(text); w !== null && n < 8; n++, w = re.exec(text)) {
      const word = w[1] ?? '';
      if (word === 'machine' || word === 'default') break;
      if (word !== 'password' && word !== 'passwd') continue;
      const v = re.exec(text);
      const value = v?.[1] ?? '';
      if (v !== null && value !== '' && !alreadyRedacted(value) && !PLACEHOLDER.test(value)) {
        edits.push({ start: re.lastIndex - value.length, end: re.lastIndex, replacement: REDACTED });
      }
      break;
    }
  }
  return applyEdits(text, edits);
}

// SQL that sets a password, as a database logs its statements: ALTER USER app WITH PASSWORD '…',
// CREATE USER … IDENTIFIED BY '…', IDENTIFIED WITH mysql_native_password BY "…", PASSWORD('…').
const SQL_PASSWORD = /(?<![A-Za-z0-9_])(?:PASSWORD|IDENTIFIED[ \t]+(?:WITH[ \t]+[A-Za-z0-9_]{1,64}[ \t]+)?BY)(?:[ \t]{1,4}|[ \t]{0,4}\([ \t]{0,4})E?(?=\\{0,3}['"])/gi;

function maskSqlPasswords(text: string): string {
  const edits: Replacement[] = [];
  SQL_PASSWORD.lastIndex = 0;
  for (let m = SQL_PASSWORD.exec(text); m !== null; m = SQL_PASSWORD.exec(text)) {
    // Decided on a window; only a value that is masked is read whole and consumed.
    const w = readValue(text, SQL_PASSWORD.lastIndex, 'secret', VALUE_WINDOW);
    const head = text.slice(w.start, w.end);
    if (head === '' || alreadyRedacted(head, w.complete) || (w.complete && PLACEHOLDER.test(head))) continue;
    const v = w.complete ? w : readValue(text, SQL_PASSWORD.lastIndex, 'secret', Infinity);
    edits.push({ start: v.start, end: v.end, replacement: REDACTED });
    SQL_PASSWORD.lastIndex = v.end;
  }
  return applyEdits(text, edits);
}

// Protocol traces: SMTP "AUTH PLAIN <base64>", Redis "AUTH [user] password" at the end of a line,
// and redis-cli MONITOR's "auth" "password". The upper-case command with one or two words and
// nothing after them is not prose ("AUTH failed for user bob" is left alone).
// Its words hold no character that ends a command line (masking one would change where a command's
// words end on a second pass).
const AUTH_COMMAND = /(?<![A-Za-z0-9_-])AUTH((?:[ \t]+[^\s"'`{}()[\];|&<>]{1,512}){1,2})(?=[ \t]*(?:[\r\n"'`]|$))/g;
const AUTH_QUOTED = /"(?:auth|AUTH)"((?:[ \t]+"[^"\n]{0,512}"){1,2})(?![ \t]*:)/g;
const SASL_MECHANISM = /^(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|SCRAM-SHA-(?:1|256|512)|EXTERNAL|ANONYMOUS)$/;

function maskAuthCommand(match: string, args: string): string {
  const words = args.trim().split(/[ \t]+/);
  const secret = words.at(-1) ?? '';
  if (words.length === 1 && SASL_MECHANISM.test(secret)) return match;
  if (words.some((w) => w.includes(REDACTED)) || PLACEHOLDER.test(secret) || (words.length === 1 && /^[A-Za-z]{1,10}$/.test(secret))) return match;
  return `${match.slice(0, match.length - secret.length)}${REDACTED}`;
}

function maskAuthQuoted(match: string, args: string): string {
  const last = /"([^"\n]*)"$/.exec(args);
  const secret = last?.[1] ?? '';
  if (secret === '' || args.includes(REDACTED)) return match;
  return `${match.slice(0, match.length - secret.length - 1)}${REDACTED}"`;
}

// Redis configuration and CONFIG SET: requirepass hunter2, masterauth hunter2.
const REDIS_DIRECTIVE = /(?<![A-Za-z0-9_.-])(requirepass|masterauth)("?[ \t]{1,4}"?)([^\s"]{1,512})/gi;

// <password>…</password>, <apiKey>…</apiKey> (Maven settings.xml, Java and .NET configs).
const XML_ELEMENT = /<([A-Za-z_][A-Za-z0-9_.:-]{0,79})>([^<]{1,4096})<\/\1>/g;

function maskXmlElement(match: string, name: string, content: string): string {
  const kind = classifyKey(name);
  if (kind === null) return match;
  const masked = maskedValue(kind, content, isBareKey(name));
  return masked === content ? match : `<${name}>${masked}</${name}>`;
}

// Azure Functions keys and OAuth authorization codes travel as ?code= in URLs.
const QUERY_CODE = /([?&]code=)([A-Za-z0-9%_.~+/=-]{16,})/g;

function maskQueryCode(match: string, prefix: string, value: string): string {
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !alreadyRedacted(value) ? `${prefix}${REDACTED}` : match;
}

/**
 * Name/value pairs: a pod spec's env ({"name":"DB_PASSWORD","value":"…"}, "- name: DB_PASSWORD\n
 * value: …", Go's &EnvVar{Name:DB_PASSWORD,Value:…}), SSM parameters ({"Name":"/prod/db/password",
 * "Value":…}), CloudFormation (ParameterKey=DbPassword,ParameterValue=…), .NET <add key="DbPassword"
 * value="…"/>. The value is masked when the name names a secret. One pass, left to right: a value
 * pairs with the nearest name before it in the same record (no bracket between, at most 3 lines
 * up), or else with the next name on the same line in the same record.
 */
const PAIR_KEY =
  /(^|[^A-Za-z0-9_.-])(name|Name|NAME|key|Key|KEY|ParameterKey|parameter_key|value|Value|VALUE|ParameterValue|parameter_value)(\\{0,3}["']?)[ \t]{0,16}(?:=(?![=>])|:(?![:/]))[ \t]{0,4}/g;
const NAME_TOKEN = /^[A-Za-z0-9_./-]{1,128}$/;

function maskNamedPairs(text: string): string {
  const edits: Replacement[] = [];
  let line = 0;
  let record = 0;
  let counted = 0;
  const countTo = (to: number): void => {
    for (; counted < to; counted++) {
      const c = text.charCodeAt(counted);
      if (c === 10) line++;
      else if (c === 123 || c === 125 || c === 91 || c === 93) record++;
    }
  };
  let name: { kind: KeyKind | null; bare: boolean; line: number; record: number } | undefined;
  let pending: { at: number; line: number; record: number } | undefined;
  /** Masks the value read at `at` when the name says so; returns where a masked value ends. */
  const pair = (kind: KeyKind | null, bare: boolean, at: number): number | undefined => {
    if (kind === null) return undefined;
    const v = readValue(text, at, 'secret', Infinity);
    const raw = text.slice(v.start, v.end);
    const masked = maskedValue(kind === 'weak' ? 'weak' : 'secret', raw, bare);
    if (masked === raw) return undefined;
    edits.push({ start: v.start, end: v.end, replacement: masked });
    return v.end;
  };
  PAIR_KEY.lastIndex = 0;
  for (let m = PAIR_KEY.exec(text); m !== null; m = PAIR_KEY.exec(text)) {
    const sepEnd = PAIR_KEY.lastIndex;
    countTo(m.index + (m[1] ?? '').length);
    const isName = /^(?:name|key|parameterkey|parameter_key)$/i.test(m[2] ?? '');
    // Decided on a window; only a value that is masked is read whole and consumed, so text inside
    // a value that stays (quoted, unbalanced) is still looked at, and a masked value cannot hide a
    // pair on a second pass that the first one skipped.
    const w = readValue(text, sepEnd, 'secret', VALUE_WINDOW);
    const head = text.slice(w.start, w.end);
    if (isName) {
      const token = w.complete && NAME_TOKEN.test(head) ? head : '';
      const kind = token === '' ? null : classifyKey(token);
      name = { kind, bare: isBareKey(token), line, record };
      if (pending !== undefined && pending.line === line && pending.record === record) pair(kind, isBareKey(token), pending.at);
      pending = undefined;
      if (token !== '') PAIR_KEY.lastIndex = w.end;
      continue;
    }
    // A value: the nearest name before it, or the next one on the line.
    if (head === '' || head === '{' || head === '[' || alreadyRedacted(head, w.complete)) continue;
    if (name !== undefined && name.record === record && line - name.line <= 3) {
      const block = name.kind === null || w.quoted ? undefined : maskYamlBlock(text, m.index + (m[1] ?? '').length, w);
      if (block) {
        edits.push(block);
        PAIR_KEY.lastIndex = block.end;
      } else if (block === undefined) {
        const end = pair(name.kind, name.bare, sepEnd);
        if (end !== undefined) PAIR_KEY.lastIndex = end;
      }
      pending = undefined;
    } else pending = { at: sepEnd, line, record };
    name = undefined;
  }
  return applyEdits(text, edits);
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

// --- text inside JSON strings ---------------------------------------------------------------------

// A JSON string literal with escapes in it. Multi-line text logged by a JSON logger or shown as a
// JSON value (a config dump, a YAML list of args, a .netrc, a wrapped PEM header, a header dump
// with quotes) loses its lines and quotes to \n and \"; the rules that read lines and quotes see
// it decoded here, and a changed literal is written back encoded. Only literals that hold an
// escape; < and > are written back escaped so a changed literal cannot open a delimiter.
function maskJsonStrings(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  let last = 0;
  for (let i = text.indexOf('"'); i >= 0; ) {
    let j = i + 1;
    let escaped = false;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '\n' || c === '\r' || c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === undefined || next === '\n' || next === '\r') break;
        escaped = true;
        j++;
      }
    }
    if (text[j] !== '"') {
      // Unclosed: every later quote on this line is escaped in the same reading, so none opens a
      // literal either. Go on at the next line (linear: each line is read once).
      const nl = text.indexOf('\n', j);
      i = nl < 0 ? -1 : text.indexOf('"', nl);
      continue;
    }
    if (escaped) {
      const literal = text.slice(i, j + 1);
      const masked = maskJsonLiteral(literal);
      if (masked !== literal) {
        out += text.slice(last, i) + masked;
        last = j + 1;
      }
    }
    i = text.indexOf('"', j + 1);
  }
  return last === 0 ? text : out + text.slice(last);
}

function maskJsonLiteral(literal: string): string {
  let decoded: unknown;
  try {
    decoded = JSON.parse(literal);
  } catch {
    return literal;
  }
  if (typeof decoded !== 'string') return literal;
  const masked = redact(decoded);
  return masked === decoded ? literal : JSON.stringify(masked).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
}

// --- the pipeline -------------------------------------------------------------------------------

// Idempotence rests on the order: no rule may create a match for an earlier one. Markers start
// with [ and end with ] or ), outside every token class, so they never join tokens. Entropy may
// swallow a leading - or an inner /, which decide flags and URL user info, so those come after
// it; named values end at characters no earlier rule's tokens contain, so names come last, and
// name/value pairs, which read names the rules before them leave alone, after them.
const RULES: readonly Rule[] = [
  // First: the decoded text of JSON strings goes through all the rules, before any of them can
  // break the structure (a header value cut at its first \").
  maskJsonStrings,
  regexRule(PEM, () => tag('pem')),
  regexRule(PEM_BASE64, () => tag('pem')),
  maskPuttyKeys,
  maskShapes,
  maskEntraSecrets,
  regexRule(WEBHOOK_URL, (_m, prefix: string) => `${prefix}${REDACTED}`),
  regexRule(BEARER, (m, scheme: string, ws: string, token: string) =>
    looksLikeCredential(token) ? `${scheme}${ws}${REDACTED}` : m,
  ),
  maskHighEntropy,
  maskFlags,
  maskListNeighbours(LIST_PAIR),
  maskListNeighbours(YAML_LIST_PAIR),
  // Before the names (password: mysql -pX would hide mysql) and again last (see there).
  maskCommandLines,
  maskNetrc,
  maskSqlPasswords,
  regexRule(REDIS_DIRECTIVE, (m, name: string, sep: string, value: string) =>
    alreadyRedacted(value) || PLACEHOLDER.test(value) ? m : `${name}${sep}${REDACTED}`,
  ),
  regexRule(QUERY_CODE, maskQueryCode),
  regexRule(URL_USERINFO_SLASH, maskUrlUserinfoSlash),
  regexRule(URL_USERINFO, maskUrlUserinfo),
  maskGoDsn,
  regexRule(JDBC_ORACLE, (m, prefix: string, user: string, password: string) =>
    alreadyRedacted(password) ? m : `${prefix}${user}/${REDACTED}@`,
  ),
  regexRule(XML_ELEMENT, maskXmlElement),
  maskNamedSecrets,
  maskNamedPairs,
  // Last: their windows (words up to a ; | & or a line end) must not change after they have run,
  // so a second pass finds nothing the first did not.
  maskCommandLines,
  maskNetrc,
  // After the names: whether AUTH ends its line depends on values they mask.
  regexRule(AUTH_COMMAND, maskAuthCommand),
  regexRule(AUTH_QUOTED, maskAuthQuoted),
];

/** Masks every secret shape we know. Idempotent: redact(redact(x)) === redact(x). */
export function redact(text: string): string {
  let out = text;
  for (const rule of RULES) out = rule(out);
  return out;
}

/** Nesting deeper than this is redacted as JSON text rather than walked. */
const MAX_DEPTH = 32;

/**
 * Redacts every string inside a JSON-like value (labels, annotations, tool results, audit details),
 * keys included. A string under a secret-named key ({ "db-password": "…" }) is masked whatever it
 * looks like, and so is the value of a name/value pair whose name names a secret ({ name:
 * "DB_PASSWORD", value: "…" }, as in a pod's env). A list of strings is also redacted as one
 * command line (["--db-password", "…"], a container's command and args together), so a flag and
 * its value in neighbouring items are seen together. Nesting deeper than 32 levels is redacted as
 * JSON text. The result is plain data (arrays, objects, strings, numbers, booleans, null).
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value, null, false, 0) as T;
}

const NAME_FIELDS = ['name', 'Name', 'key', 'Key', 'ParameterKey'] as const;
const VALUE_FIELDS = ['value', 'Value', 'ParameterValue'] as const;
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function redactValue(value: unknown, kind: KeyKind | null, bare: boolean, depth: number): unknown {
  if (typeof value === 'string') {
    if (kind !== null) {
      const masked = maskedValue(kind, value, bare);
      if (masked !== value) return masked;
    }
    return redact(value);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    return json === undefined ? '[unserialisable]' : redact(json);
  }
  if (Array.isArray(value)) {
    const items = value.map((v: unknown) => redactValue(v, kind, bare, depth + 1));
    return isStringList(items) && items.length > 1 ? redactCommandLine(items) : items;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const record = value as Record<string, unknown>;
  // A name/value pair: the value is secret when the name says so.
  const nameField = NAME_FIELDS.find((f) => typeof record[f] === 'string');
  const pairKind = nameField === undefined ? null : classifyKey(record[nameField] as string);
  const pairBare = nameField !== undefined && isBareKey(record[nameField] as string);
  // A container's command and args are one command line.
  const { command, args } = record;
  const commandLine = isStringList(command) && isStringList(args) && command.length > 0 && args.length > 0
    ? redactCommandLine([...command.map((c) => redact(c)), ...args.map((a) => redact(a))])
    : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    let childKind = classifyKey(k) ?? kind;
    let childBare = classifyKey(k) === null ? bare : isBareKey(k);
    if (pairKind !== null && (VALUE_FIELDS as readonly string[]).includes(k) && typeof v === 'string') {
      childKind = pairKind;
      childBare = pairBare;
    }
    let redacted = redactValue(v, childKind, childBare, depth + 1);
    if (commandLine !== undefined && isStringList(command)) {
      if (k === 'command') redacted = commandLine.slice(0, command.length);
      else if (k === 'args') redacted = commandLine.slice(command.length);
    }
    let key = redact(k);
    while (key !== k && Object.hasOwn(out, key)) key = `${key} `;
    out[key] = redacted;
  }
  return out;
}

/** Redacts a list of strings as one command line (as JSON text, the shape the list rules read). */
function redactCommandLine(items: readonly string[]): string[] {
  const json = JSON.stringify(items);
  const redacted = redact(json);
  if (redacted === json) return [...items];
  try {
    const parsed: unknown = JSON.parse(redacted);
    if (isStringList(parsed) && parsed.length === items.length) return parsed;
  } catch {
    // A rule that spans items (a PEM block cut off) broke the list: keep the items redacted one by one.
  }
  return [...items];
}
