/**
 * The end of every bench child process: run `main`, print its error if it fails, and exit at once.
 * Some pools keep handles alive after closing; the child's answer is already out by then.
 */
export function exitWhenDone(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
      process.exit(1);
    },
  );
}
