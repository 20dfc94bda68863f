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
    load: () => import('./commands/run.ts'),
  },
};
