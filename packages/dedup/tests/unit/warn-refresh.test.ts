import { describe, expect, it } from 'vitest';
import { warnRefreshFailed } from '../../src/publish.ts';

describe('warnRefreshFailed', () => {
  const logger = () => {
    const warnings: [string, Record<string, unknown>][] = [];
    return { warnings, log: { warn: (message: string, attributes: Record<string, unknown>) => warnings.push([message, attributes]) } };
  };

  it('says how many records will be produced again, under their name, with the error', () => {
    const { warnings, log } = logger();
    const error = Object.assign(new Error('not authorized to perform: dynamodb:UpdateItem'), { name: 'AccessDeniedException' });
    warnRefreshFailed(log, { refreshFailed: 3, refreshError: error }, 'ticks');
    expect(warnings).toEqual([[expect.stringMatching(/^dedup expiry refresh failed: those ticks are forgotten, and produced again/), { ticks: 3, error: expect.stringContaining('AccessDeniedException') }]]);
  });

  it('is silent when every renewal went through', () => {
    const { warnings, log } = logger();
    warnRefreshFailed(log, {});
    warnRefreshFailed(log, { refreshFailed: 0 });
    expect(warnings).toEqual([]);
  });
});
