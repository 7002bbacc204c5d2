import { z } from 'zod';

export interface EnvelopeInput<T> {
  /** What the payload is, e.g. "rss.item" or "polymarket.price-tick". */
  type: string;
  /** Where it came from, e.g. a feed URL or "polymarket". */
  source: string;
  /** Stable id of the observed entity or event, for consumers' own deduplication. */
  id: string;
  observedAt: Date;
  payload: T;
  /** Version of the payload's shape for this type (default 1). */
  schemaVersion?: number;
}

export interface Envelope<T> {
  schemaVersion: number;
  type: string;
  source: string;
  id: string;
  /** ISO 8601, UTC. */
  observedAt: string;
  /** ISO 8601, UTC. */
  producedAt: string;
  payload: T;
}

/**
 * Wraps a payload in the versioned JSON envelope every producer shares, plus headers that let
 * consumers route and filter without parsing the value.
 */
export function envelope<T>(e: EnvelopeInput<T>): { value: string; headers: Record<string, string> } {
  const schemaVersion = e.schemaVersion ?? 1;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new RangeError(`schemaVersion must be a positive integer, got ${schemaVersion}`);
  }
  const body: Envelope<T> = {
    schemaVersion,
    type: e.type,
    source: e.source,
    id: e.id,
    // toISOString throws on an invalid date: better here than a "null" timestamp downstream.
    observedAt: e.observedAt.toISOString(),
    producedAt: new Date().toISOString(),
    payload: e.payload,
  };
  return {
    value: JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      'schema-version': String(schemaVersion),
      source: e.source,
      type: e.type,
      id: e.id,
    },
  };
}

/**
 * What consumers accept as an envelope: the shape `envelope()` writes, with fields a later producer
 * may add tolerated. Pure zod, reachable as `@laminar/kafka/envelope` without loading the client.
 */
export const envelopeSchema = z.looseObject({
  schemaVersion: z.number().int().min(1),
  type: z.string().min(1),
  source: z.string().min(1),
  id: z.string().min(1),
  observedAt: z.iso.datetime({ offset: true }),
  producedAt: z.iso.datetime({ offset: true }),
  payload: z.unknown().refine((p) => p !== undefined, 'payload is required'),
});
