import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A real child process whose output lines a test can wait for: services, supervisors, fixtures. */
export class ProcessUnderTest {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly #waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];

  constructor(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (line: string) => {
      this.lines.push(line);
      for (const waiter of [...this.#waiters]) {
        if (!waiter.pattern.test(line)) continue;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    };
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', collect);
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', collect);
  }

  /** Resolves with the first output line, already seen or still to come, that matches. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited();
  }
}
