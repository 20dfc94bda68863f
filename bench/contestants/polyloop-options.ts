// polyloop's knobs for the benchmark, in one place so the library author can tune them.
// POLYLOOP_CONCURRENCY=N overrides the per-worker cap.
const fromEnv = process.env.POLYLOOP_CONCURRENCY;

// Unbounded by default, like the one event loop's Promise.all and the peers' settings: the pool's
// adaptive window decides how many tasks each worker really holds.
export const polyloopOptions: { readonly concurrency?: number } = {
  concurrency: fromEnv === undefined || fromEnv === '' ? Number.POSITIVE_INFINITY : Number(fromEnv),
};
