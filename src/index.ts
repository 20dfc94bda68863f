export {
  AbortError,
  DataCloneError,
  PolyloopError,
  PoolClosedError,
  TaskError,
  TaskModuleError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.js';
export type { Percentiles } from './histogram.js';
export type { PoolOptions } from './options.js';
export { Pool } from './pool.js';
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
} from './types.js';
