import { readKafkaTopic } from '@laminar/emulators';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The counts a producer returns, read generically: numeric fields at the top level, then those
 * one level down — `totals.produced` shows as `produced` (unless the top level has that name too),
 * any other object's as `markets.fetched`.
 */
export function numericFields(result: unknown): [string, number][] {
  if (!isObject(result)) return [];
  const top: [string, number][] = Object.entries(result).filter((e): e is [string, number] => typeof e[1] === 'number');
  const names = new Set(top.map(([k]) => k));
  const nested: [string, number][] = [];
  for (const [key, value] of Object.entries(result)) {
    if (!isObject(value)) continue;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'number') nested.push([key === 'totals' && !names.has(k) ? k : `${key}.${k}`, v]);
    }
  }
  return [...top, ...nested];
}

export function formatFields(fields: [string, number][]): string {
  return fields.map(([k, v]) => `${k} ${v}`).join(', ');
}

const LABEL_KEYS = ['source', 'feed', 'url', 'name', 'id', 'marketId', 'market', 'title'];
const NOTE_KEYS = ['error', 'reason'];

/**
 * One line per element of each array of objects in the result (rss-producer's `feeds`,
 * polymarket-producer's `rejections`): a label (source, url, name, id…), its numeric fields and
 * its error or reason.
 */
export function itemLines(result: unknown, max = 10): string[] {
  if (!isObject(result)) return [];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (!Array.isArray(value)) continue;
    const items = value.filter(isObject);
    for (const [i, item] of items.slice(0, max).entries()) {
      const labelKey = LABEL_KEYS.find((k) => typeof item[k] === 'string');
      const label = labelKey ? String(item[labelKey]) : `#${i + 1}`;
      const fields = formatFields(numericFields(item));
      const notes = NOTE_KEYS.filter((k) => typeof item[k] === 'string').map((k) => String(item[k]));
      const status = typeof item.status === 'string' && item.status !== 'ok' ? [item.status] : [];
      const tail = [...status, ...notes].join(': ');
      lines.push(`${key} ${label}: ${[fields, tail && (fields ? `(${tail})` : tail)].filter(Boolean).join(' ') || '-'}`);
    }
    if (items.length > max) lines.push(`${key}: ${items.length - max} more`);
  }
  return lines;
}

/** Adds up the numeric fields of several results (several scheduled runs of one function). */
export function sumFields(results: unknown[]): [string, number][] {
  const sums = new Map<string, number>();
  for (const r of results) for (const [k, v] of numericFields(r)) sums.set(k, (sums.get(k) ?? 0) + v);
  return [...sums];
}

export interface TopicCount {
  topic: string;
  messages: number;
  keys: number;
  error?: string;
}

/** Reads each topic from the beginning and counts its messages and distinct keys. */
export async function countTopics(bootstrapServers: string, topics: string[], timeoutMs = 20_000): Promise<TopicCount[]> {
  const out: TopicCount[] = [];
  for (const topic of topics) {
    try {
      const messages = await readKafkaTopic(bootstrapServers, topic, { timeoutMs });
      out.push({ topic, messages: messages.length, keys: new Set(messages.map((m) => m.key)).size });
    } catch (err) {
      out.push({ topic, messages: 0, keys: 0, error: (err as Error).message });
    }
  }
  return out;
}
