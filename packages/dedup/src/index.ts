export { type PublishOnceArgs, publishOnce } from './publish.ts';
export { type ClaimResult, DedupStore, type DedupOptions } from './store.ts';
export { ensureTable } from './table.ts';
