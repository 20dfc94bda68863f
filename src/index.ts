export {
  AbortError,
  DataCloneError,
  PolyloopError,
  PoolClosedError,
  TaskError,
  TaskModuleError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.ts';
export type { Percentiles } from './histogram.ts';
export type { PoolOptions } from './options.ts';
export { Pool } from './pool.ts';
export type {
  InputOf,
  Inputs,
  MapOptions,
  OutputOf,
  PoolStats,
  RunOptions,
  SetupContext,
  StreamOptions,
  StreamResult,
  TaskContext,
  TaskModule,
  WorkerStats,
} from './types.ts';
