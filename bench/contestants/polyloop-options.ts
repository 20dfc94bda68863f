// polyloop's knobs for the benchmark, in one place so the library author can tune them.
// POLYLOOP_CONCURRENCY=N overrides the per-worker cap; unset means the library default.
const fromEnv = process.env.POLYLOOP_CONCURRENCY;

export const polyloopOptions: { readonly concurrency?: number } =
  fromEnv === undefined || fromEnv === '' ? {} : { concurrency: Number(fromEnv) };
