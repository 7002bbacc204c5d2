import { describe, expect, it } from 'vitest';
import { applyScheduleTargetInput, defineFunction, functionsTable, scheduleTargetInput, SpecError } from '../../src/index.ts';

const base = { name: 'demo', memoryMb: 256, timeoutS: 30 };
const scheduled = (trigger: Record<string, unknown>) =>
  defineFunction({ ...base, triggers: [{ kind: 'schedule', expression: 'rate(1 hour)', ...trigger } as never] });
const event = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  time: '2026-01-30T10:00:00Z',
  detail: {},
};

describe('a schedule’s inputFromEvent', () => {
  it('is kept by the spec, and an input transformer carries it', () => {
    const spec = scheduled({ input: { stores: 10, recordsPerStore: 50 }, inputFromEvent: { runId: 'id', at: 'time' } });
    expect(spec.triggers[0]).toEqual({ kind: 'schedule', expression: 'rate(1 hour)', input: { stores: 10, recordsPerStore: 50 }, inputFromEvent: { runId: 'id', at: 'time' } });
    const target = scheduleTargetInput({ input: { stores: 10, recordsPerStore: 50 }, inputFromEvent: { runId: 'id', at: 'time' } });
    expect(target).toEqual({
      kind: 'transformer',
      inputPaths: { runId: '$.id', at: '$.time' },
      // Bare placeholders: EventBridge inserts a string value quoted.
      inputTemplate: '{"stores":10,"recordsPerStore":50,"runId":<runId>,"at":<at>}',
    });
  });

  it('gives the function its input with the firing’s id and time, as EventBridge substitutes them', () => {
    const target = scheduleTargetInput({ input: { stores: 10, nested: { a: [1, 'x'] } }, inputFromEvent: { runId: 'id', at: 'time' } });
    expect(applyScheduleTargetInput(target, event)).toEqual({ stores: 10, nested: { a: [1, 'x'] }, runId: event.id, at: event.time });
    // Without constant input the template holds only the firing's fields.
    const bare = scheduleTargetInput({ inputFromEvent: { firing: 'id' } });
    expect(bare).toMatchObject({ inputTemplate: '{"firing":<firing>}' });
    expect(applyScheduleTargetInput(bare, event)).toEqual({ firing: event.id });
  });

  it('changes nothing without it: the constant input, or the scheduled event itself', () => {
    expect(scheduleTargetInput({ input: { scope: 'daily' } })).toEqual({ kind: 'constant', input: '{"scope":"daily"}' });
    expect(applyScheduleTargetInput(scheduleTargetInput({ input: { scope: 'daily' } }), event)).toEqual({ scope: 'daily' });
    expect(scheduleTargetInput({})).toEqual({ kind: 'event' });
    expect(applyScheduleTargetInput({ kind: 'event' }, event)).toBe(event);
  });

  it('gives the same template for the same spec', () => {
    const trigger = { input: { b: 1, a: [2, 3] }, inputFromEvent: { runId: 'id', at: 'time' } } as const;
    expect(scheduleTargetInput(trigger)).toEqual(scheduleTargetInput(structuredClone(trigger)));
  });

  it('refuses a key also in the constant input, a key EventBridge would not take as a variable, a field it does not know', () => {
    const fails = (trigger: Record<string, unknown>, why: RegExp) => {
      expect(() => scheduled(trigger)).toThrow(SpecError);
      expect(() => scheduled(trigger)).toThrow(why);
    };
    fails({ input: { runId: 'fixed' }, inputFromEvent: { runId: 'id' } }, /triggers\.0\.inputFromEvent\.runId: "runId" is in the constant input too/);
    fails({ inputFromEvent: { 'run-id': 'id' } }, /triggers\.0\.inputFromEvent\.run-id: .*a letter, then letters and digits/);
    fails({ inputFromEvent: { _run: 'id' } }, /a letter, then letters and digits/);
    fails({ inputFromEvent: { 'aws.events.rule-name': 'id' } }, /a letter, then letters and digits/);
    fails({ inputFromEvent: { a: 'detail' } }, /triggers\.0\.inputFromEvent\.a/);
    fails({ inputFromEvent: {} }, /names no field/);
  });

  it('refuses a constant input that EventBridge would substitute into, or too long for a template', () => {
    expect(() => scheduled({ input: { note: 'run <runId>' }, inputFromEvent: { runId: 'id' } })).toThrow(/would substitute <runId> in the input/);
    expect(() => scheduled({ input: { note: '<aws.events.rule-name>' }, inputFromEvent: { runId: 'id' } })).toThrow(/<aws\.events\.rule-name>/);
    // Without a transformer the input is sent as it is.
    expect(scheduled({ input: { note: 'run <runId>' } }).triggers[0]).toMatchObject({ input: { note: 'run <runId>' } });
    expect(() => scheduled({ input: { blob: 'x'.repeat(8200) }, inputFromEvent: { runId: 'id' } })).toThrow(/EventBridge takes at most 8192/);
  });

  it('refuses a constant input past EventBridge\'s 8,192 characters for a target\'s Input, as its JSON', () => {
    // {"note":"…"}: 11 characters and the note.
    expect(scheduled({ input: { note: 'x'.repeat(8181) } }).triggers[0]).toMatchObject({ input: { note: 'x'.repeat(8181) } });
    expect(scheduleTargetInput({ input: { note: 'x'.repeat(8181) } })).toMatchObject({ kind: 'constant' });
    expect(() => scheduled({ input: { note: 'x'.repeat(8182) } })).toThrow(SpecError);
    expect(() => scheduled({ input: { note: 'x'.repeat(8182) } })).toThrow('triggers.0.input: the input is 8193 characters as JSON; EventBridge takes a target Input of at most 8192');
  });

  it('is in the generated function table', () => {
    const spec = { ...scheduled({ input: { stores: 10 }, inputFromEvent: { runId: 'id', at: 'time' } }), name: 'inventory' };
    expect(functionsTable([spec])).toContain("schedule `rate(1 hour)` with input `{\"stores\":10}` plus `runId` = the firing's `id`, `at` = the firing's `time`");
    expect(functionsTable([scheduled({ inputFromEvent: { runId: 'id' } })])).toContain("schedule `rate(1 hour)` with input `runId` = the firing's `id`");
  });
});
