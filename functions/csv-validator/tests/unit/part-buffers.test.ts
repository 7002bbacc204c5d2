import { MIN_PART_SIZE } from '@laminar/aws';
import { describe, expect, it } from 'vitest';
import { MAX_FILTER_BYTES } from '../../src/duplicates.ts';
import { partBuffers } from '../../src/validate.ts';

describe('partBuffers', () => {
  it('adds buffers only where the filter leaves room in the budget: silver a third, then quarantine a second', () => {
    // A 100 MB file's filter (~1.5 MB): both extras.
    expect(partBuffers(1_500_000, MIN_PART_SIZE)).toEqual({ silver: 3, quarantine: 2 });
    expect(partBuffers(MAX_FILTER_BYTES - 2 * MIN_PART_SIZE, MIN_PART_SIZE)).toEqual({ silver: 3, quarantine: 2 });
    // One byte more: room for silver's third only (files of ~400–750 MB).
    expect(partBuffers(MAX_FILTER_BYTES - 2 * MIN_PART_SIZE + 1, MIN_PART_SIZE)).toEqual({ silver: 3, quarantine: 1 });
    expect(partBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE, MIN_PART_SIZE)).toEqual({ silver: 3, quarantine: 1 });
    // The largest filter (files past ~750 MB, or a warm environment that kept one): the base.
    expect(partBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE + 1, MIN_PART_SIZE)).toEqual({ silver: 2, quarantine: 1 });
    expect(partBuffers(MAX_FILTER_BYTES, MIN_PART_SIZE)).toEqual({ silver: 2, quarantine: 1 });
    // Larger parts leave room sooner.
    expect(partBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE, 2 * MIN_PART_SIZE)).toEqual({ silver: 2, quarantine: 1 });
  });
});
