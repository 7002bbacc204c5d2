import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';
import { parseRunRequest } from '../../src/event.ts';

const firing = { version: '0', id: '7bf73129-1428-4cd3-a780-95db273d1602', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-11-26T09:00:00Z', detail: {} };

describe('the run id', () => {
  it('is taken from the event, bounded', () => {
    expect(parseRunRequest({ stores: 2, runId: 'a-run' }, 1000)).toEqual({ stores: 2, recordsPerStore: 20, runId: 'a-run' });
    expect(() => parseRunRequest({ runId: '' }, 1000)).toThrow(/runId/);
    expect(() => parseRunRequest({ runId: 'x'.repeat(129) }, 1000)).toThrow(/runId/);
    expect(() => parseRunRequest({ runId: 7 }, 1000)).toThrow(/runId/);
  });

  it('of a bare scheduled event is its id, with its time as `at`', () => {
    expect(parseRunRequest(firing, 1000)).toEqual({ stores: 5, recordsPerStore: 20, runId: firing.id, at: '2026-11-26T09:00:00.000Z' });
  });

  it('comes with the schedule’s input: the schedule adds the firing’s id and time to it', () => {
    const schedule = spec.triggers.find((t) => t.kind === 'schedule');
    expect(schedule).toMatchObject({ input: { stores: 10, recordsPerStore: 50 }, inputFromEvent: { runId: 'id', at: 'time' } });
    // What EventBridge's input transformer delivers for a firing.
    expect(parseRunRequest({ stores: 10, recordsPerStore: 50, runId: firing.id, at: firing.time }, 100_000)).toEqual({ stores: 10, recordsPerStore: 50, runId: firing.id, at: firing.time });
  });
});
