/** Byte and line budgets for text we keep, so one noisy pod cannot blow a model request or an SNS message. */

/** Keeps the last `maxLines` lines within `maxBytes` (UTF-8), marking what was cut. */
export function truncateLog(text: string, maxLines: number, maxBytes: number): string {
  let lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines = lines.slice(0, -1);
  let cut = false;
  if (lines.length > maxLines) {
    lines = lines.slice(-maxLines);
    cut = true;
  }
  let out = lines.join('\n');
  if (Buffer.byteLength(out, 'utf8') > maxBytes) {
    const buf = Buffer.from(out, 'utf8');
    out = buf.subarray(buf.length - maxBytes).toString('utf8').replace(/^\uFFFD+/, '');
    cut = true;
  }
  return cut ? `[earlier output truncated]\n${out}` : out;
}

/** Cuts text to at most maxBytes of UTF-8 with a marker, never splitting a character. */
export function truncateBytes(text: string, maxBytes: number, marker = '\n[truncated]'): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  const cutText = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8').replace(/\uFFFD+$/, '');
  return cutText + marker;
}
