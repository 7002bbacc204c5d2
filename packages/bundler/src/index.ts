export * from './bundle.ts';
export * from './zip.ts';
