export * from './bundle.ts';
export * from './zip.ts';
export * from './source-map.ts';
