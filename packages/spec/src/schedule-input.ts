/**
 * What a schedule trigger's EventBridge target hands the function: the "Scheduled Event" itself,
 * the trigger's constant input, or that input with fields of the firing's event added through an
 * input transformer. Infra deploys it and the local runner applies it, from this one description.
 */

/** The fields of a "Scheduled Event" a schedule can put into its input: the firing's id and time. */
export const SCHEDULED_EVENT_FIELDS = ['id', 'time'] as const;
export type ScheduledEventField = (typeof SCHEDULED_EVENT_FIELDS)[number];

/**
 * An input key that is also its input transformer variable: EventBridge's variable names are
 * letters and digits (CloudFormation's pattern, the narrower of the two AWS documents).
 */
export const INPUT_FROM_EVENT_KEY = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** EventBridge substitutes anything of this form in a template, inside JSON strings too. */
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/g;

/** EventBridge's limit on a target's Input and on an InputTemplate, in characters. */
export const MAX_TARGET_INPUT_CHARS = 8192;

export interface ScheduleInputSource {
  input?: Record<string, unknown> | undefined;
  inputFromEvent?: Record<string, ScheduledEventField> | undefined;
}

export type ScheduleTargetInput =
  | { kind: 'event' }
  | { kind: 'constant'; input: string }
  | { kind: 'transformer'; inputPaths: Record<string, string>; inputTemplate: string };

/**
 * The target's input for a schedule trigger. With `inputFromEvent`, the template is the constant
 * input's JSON with one bare `<key>` per added key: EventBridge inserts a string value there quoted,
 * so the result is JSON again, and the same spec always gives the same template text.
 */
export function scheduleTargetInput(trigger: ScheduleInputSource): ScheduleTargetInput {
  const fromEvent = Object.entries(trigger.inputFromEvent ?? {});
  if (fromEvent.length === 0) return trigger.input ? { kind: 'constant', input: JSON.stringify(trigger.input) } : { kind: 'event' };
  const constant = JSON.stringify(trigger.input ?? {});
  const added = fromEvent.map(([key]) => `${JSON.stringify(key)}:<${key}>`).join(',');
  return {
    kind: 'transformer',
    inputPaths: Object.fromEntries(fromEvent.map(([key, field]) => [key, `$.${field}`])),
    inputTemplate: constant === '{}' ? `{${added}}` : `${constant.slice(0, -1)},${added}}`,
  };
}

/** Why a trigger's `input` and `inputFromEvent` cannot make a target EventBridge would deliver as meant. */
export function scheduleInputProblems(trigger: ScheduleInputSource): { path: string[]; message: string }[] {
  if (trigger.inputFromEvent === undefined) {
    // The constant input is the target's Input as its JSON: past the limit PutTargets refuses it.
    const target = scheduleTargetInput(trigger);
    if (target.kind === 'constant' && target.input.length > MAX_TARGET_INPUT_CHARS) {
      return [{ path: ['input'], message: `the input is ${target.input.length} characters as JSON; EventBridge takes a target Input of at most ${MAX_TARGET_INPUT_CHARS}` }];
    }
    return [];
  }
  const fromEvent = Object.keys(trigger.inputFromEvent);
  if (fromEvent.length === 0) return [{ path: ['inputFromEvent'], message: 'names no field: leave inputFromEvent out' }];
  const problems: { path: string[]; message: string }[] = [];
  for (const key of fromEvent) {
    // Zod's own message for a record key names neither the key's rule nor why.
    if (!INPUT_FROM_EVENT_KEY.test(key)) {
      problems.push({ path: ['inputFromEvent', key], message: 'an input key EventBridge takes as a variable name: a letter, then letters and digits (64 at most)' });
    }
    if (trigger.input && Object.hasOwn(trigger.input, key)) {
      problems.push({ path: ['inputFromEvent', key], message: `"${key}" is in the constant input too: one value would silently replace the other` });
    }
  }
  // In a transformer's template a constant string such as "<id>" would be substituted as well.
  const constant = JSON.stringify(trigger.input ?? {});
  const placeholders = [...constant.matchAll(PLACEHOLDER)].map((m) => m[0]);
  if (placeholders.length > 0) {
    problems.push({ path: ['input'], message: `with inputFromEvent, EventBridge would substitute ${[...new Set(placeholders)].join(', ')} in the input: leave out <…>` });
  }
  const target = scheduleTargetInput(trigger);
  if (target.kind === 'transformer' && target.inputTemplate.length > MAX_TARGET_INPUT_CHARS) {
    problems.push({ path: ['input'], message: `the input template is ${target.inputTemplate.length} characters; EventBridge takes at most ${MAX_TARGET_INPUT_CHARS}` });
  }
  return problems;
}

/**
 * The event EventBridge delivers for a firing: the scheduled event as it is, the constant input,
 * or the transformer's template with the event's fields in it.
 */
export function applyScheduleTargetInput(target: ScheduleTargetInput, event: Record<string, unknown>): unknown {
  switch (target.kind) {
    case 'event':
      return event;
    case 'constant':
      return JSON.parse(target.input);
    case 'transformer': {
      const text = target.inputTemplate.replace(PLACEHOLDER, (whole, name: string) => {
        const path = target.inputPaths[name];
        if (path === undefined) return whole;
        // EventBridge inserts the value unescaped; an event id or an ISO time needs no escaping,
        // so JSON.stringify writes exactly what it would.
        const value = event[path.replace(/^\$\./, '')];
        if (value === undefined) throw new Error(`the event has no ${path} for <${name}>`);
        return JSON.stringify(value);
      });
      return JSON.parse(text);
    }
  }
}
