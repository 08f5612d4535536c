/** `--output table|json`: one renderer for every command's rows. */
export type OutputFormat = 'table' | 'json';

export function parseOutput(value: string): OutputFormat {
  if (value !== 'table' && value !== 'json') throw new Error(`--output must be table or json, not "${value}"`);
  return value;
}

/** Plain columns, widths from the content, cells cut at `maxCell` so a line stays readable. */
export function table(rows: readonly Record<string, string>[], columns: readonly string[], maxCell = 80): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: string | undefined) => {
    const flat = (v ?? '').replace(/\s+/g, ' ');
    return flat.length > maxCell ? `${flat.slice(0, maxCell - 1)}…` : flat;
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

export function emit(format: OutputFormat, data: unknown, asTable: () => string, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  write(format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : `${asTable()}\n`);
}
