import { describe, expect, it } from 'vitest';
import { ApiException } from '@kubernetes/client-node';
import { listAllPages, orAbsent } from '../../lib/adapters/kube-reads.js';

/** The read layer's answers to the API server's answers: 404 as absent, pages whole or not at all. */

const status = (code: number, message: string) => new ApiException(code, `HTTP ${code}`, JSON.stringify({ message }), {});

describe('read layer', () => {
  it('reads a 404 as absent and lets every other failure through', async () => {
    expect(await orAbsent(Promise.resolve('pod'))).toBe('pod');
    expect(await orAbsent(Promise.reject(status(404, 'pods "p" not found')))).toBeUndefined();
    await expect(orAbsent(Promise.reject(status(403, 'forbidden')))).rejects.toMatchObject({ code: 403 });
  });

  it('reads every page, mapping and dropping as it goes, and restarts once when the continue token expires', async () => {
    const asked: (string | undefined)[] = [];
    let expired = false;
    const list = (page: { limit: number; _continue: string | undefined }) => {
      asked.push(page._continue);
      if (page._continue === 'b' && !expired) {
        expired = true;
        return Promise.reject(status(410, 'continue token expired'));
      }
      const pages: Record<string, { items: number[]; metadata: { _continue?: string } }> = { start: { items: [1, 2], metadata: { _continue: 'b' } }, b: { items: [3, 4], metadata: {} } };
      return Promise.resolve(pages[page._continue ?? 'start'] ?? { items: [] });
    };
    const listed = await listAllPages('numbers', 2, list, (n: number) => (n % 2 === 0 ? n * 10 : undefined));
    expect(listed).toEqual({ items: [20, 40] });
    expect(asked).toEqual([undefined, 'b', undefined, 'b']);
  });

  it('is a gap, never a partial list, when a page fails', async () => {
    const list = (page: { _continue: string | undefined }) =>
      page._continue ? Promise.reject(status(403, 'pods is forbidden')) : Promise.resolve({ items: [1], metadata: { _continue: 'next' } });
    expect(await listAllPages('pods', 500, list, (n: number) => n)).toEqual({ gap: 'pods not listed: HTTP 403: pods is forbidden' });
  });
});
