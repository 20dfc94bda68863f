/**
 * A real pseudo-terminal for tests: a command in a detached tmux session of a given size, what is
 * on its screen (capture-pane), and keys typed into it (send-keys). Each terminal has a tmux server
 * of its own, so tests never touch a user's sessions, and closing it ends everything in it.
 */
import { spawnSync } from 'node:child_process';

let opened = 0;

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

/** One shell word. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export class Terminal {
  private constructor(private readonly socket: string) {}

  /**
   * Start `command` (argv) on a `width` x `height` terminal. When it ends, the shell prints
   * `exit=<status>` and keeps the screen as it is until `close()`.
   */
  static open(command: string[], width: number, height: number): Terminal {
    const terminal = new Terminal(`polyloop-test-${process.pid}-${opened++}`);
    // Ctrl-C reaches the shell too (same process group): a trap (not an ignore, which the
    // command would inherit) keeps it alive to report the command's status.
    const script = `trap : INT; ${command.map(shellQuote).join(' ')}; echo "exit=$?"; exec sleep 3600`;
    terminal.tmux(
      'new-session',
      '-d',
      '-s',
      'test',
      '-x',
      String(width),
      '-y',
      String(height),
      `sh -c ${shellQuote(script)}`,
    );
    return terminal;
  }

  /** The visible screen, one string per row (trailing blanks trimmed). */
  screen(): string[] {
    return this.tmux('capture-pane', '-p', '-t', 'test').split('\n');
  }

  /** Everything the terminal showed that is still in its scrollback, then the screen. */
  history(): string[] {
    return this.tmux('capture-pane', '-p', '-S', '-', '-t', 'test').split('\n');
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'test', ...keys);
  }

  /**
   * Resolves with the screen once `condition(screen)` holds, polled every 50 ms: a test waits for
   * what the command has shown, never for a guessed duration.
   */
  async until(
    condition: (screen: string[]) => boolean,
    what: string,
    limitMs = 90_000,
  ): Promise<string[]> {
    const started = Date.now();
    for (;;) {
      const screen = this.screen();
      if (condition(screen)) return screen;
      if (Date.now() - started > limitMs) {
        throw new Error(`Timed out waiting for ${what}; the screen:\n${screen.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }

  private tmux(...args: string[]): string {
    // -f /dev/null: no user configuration; -u: UTF-8 whatever the locale says.
    const result = spawnSync('tmux', ['-L', this.socket, '-f', '/dev/null', '-u', ...args], {
      encoding: 'utf8',
    });
    if ((result.error as { code?: string } | undefined)?.code === 'ENOENT') {
      throw new Error('tmux is not installed: the terminal tests need it (.ci/run installs it)');
    }
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`tmux ${args[0]} failed: ${result.stderr}`);
    return result.stdout;
  }
}
