/**
 * BullMQ's classes, loaded with `require`. BullMQ ships CommonJS to Node; imported from an ES
 * module, Node first scans each of its files for named exports, which cost ~0.1 s of CPU at every
 * queue command's start (measured: import 195-230 ms, require 106-123 ms) — a quarter of
 * the wall time a 12,000-task run on two workers lost to `polyloop run`.
 */
import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';

const bullmq = createRequire(import.meta.url)('bullmq') as typeof BullMQ;

export const { DelayedError, Queue, UnrecoverableError, Worker } = bullmq;
