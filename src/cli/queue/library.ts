/**
 * The BullMQ side of the queue commands, loaded only when one of them runs: BullMQ is an optional
 * peer dependency, so `polyloop run` must work without it.
 */
import { UsageError } from '../usage-error.js';

/** What the queue commands use: the `polyloop/bullmq` library, plus the enqueue of parsed lines. */
export type QueueLibrary = typeof import('../../bullmq/index.js') &
  Pick<typeof import('../../bullmq/enqueue.js'), 'enqueueItems'>;

/** The `polyloop/bullmq` library, or a usage error saying to install BullMQ. */
export async function loadQueueLibrary(command: string): Promise<QueueLibrary> {
  try {
    const [library, { enqueueItems }] = await Promise.all([
      import('../../bullmq/index.js'),
      import('../../bullmq/enqueue.js'),
    ]);
    return { ...library, enqueueItems };
  } catch (error) {
    if (
      // From `import` (ERR_MODULE_NOT_FOUND) or `require` (MODULE_NOT_FOUND: see bullmq-runtime.ts).
      ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(
        String((error as { code?: unknown }).code),
      ) &&
      /bullmq/.test(String(error))
    ) {
      throw new UsageError(
        `polyloop ${command} needs the bullmq package next to polyloop: npm install bullmq`,
        { cause: error },
      );
    }
    throw error;
  }
}
