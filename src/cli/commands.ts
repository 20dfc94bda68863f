/**
 * The CLI's commands. Each is loaded only when used, so `polyloop run` never loads BullMQ.
 * `main` gets the arguments after the command's name and resolves with the exit code.
 */
export interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

export const commands: Record<string, Command> = {
  run: {
    summary: 'Run a task module over every line of a JSONL file, on every core',
    load: () => import('./commands/run.js'),
  },
  enqueue: {
    summary: 'Add one BullMQ job per input line to a queue on Redis',
    load: () => import('./commands/enqueue.js'),
  },
  worker: {
    summary: "Run a queue's jobs on every core of this machine",
    load: () => import('./commands/worker.js'),
  },
  collect: {
    summary: "Write a queue's results as JSONL records, one per input",
    load: () => import('./commands/collect.js'),
  },
};
