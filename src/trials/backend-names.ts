/** The tfjs backends tune can run on, in the order it tries them. Apart from backend.ts so the CLI can list them without loading tfjs. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
