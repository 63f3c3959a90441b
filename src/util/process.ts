/**
 * Runs external programs without a shell: argv arrays only, bounded in time and output,
 * so nothing a caller passes can be interpreted by a shell and nothing hangs forever.
 */
import { spawn } from 'node:child_process';

/** What {@link runProgram} returns when the program exits 0. */
export interface ProgramResult {
  stdout: string;
  stderr: string;
}

/** Options for {@link runProgram}. */
export interface RunOptions {
  /** Written to the program's standard input, then closed. Use it for secrets: never argv. */
  input?: string;
  /** Kill the program after this many milliseconds (default 120 000). */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
  /** Working directory. */
  cwd?: string;
  /** Cancels the program (SIGTERM). */
  signal?: AbortSignal;
}

/** A program exited non-zero, was killed, or could not start. */
export class ProgramFailed extends Error {
  override readonly name = 'ProgramFailed';
  readonly code = 'PROGRAM_FAILED';
  constructor(
    readonly program: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * Runs `program` with `args` (no shell) and resolves with its output when it exits 0.
 * @throws {@link ProgramFailed} on a non-zero exit, a signal, a time-out or a spawn error.
 */
export function runProgram(program: string, args: readonly string[], options: RunOptions = {}): Promise<ProgramResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ? { ...process.env, ...options.env } : process.env,
      cwd: options.cwd,
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (sink: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else sink.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ProgramFailed(program, null, '', `${program} could not run: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `killed by ${signal}` : `exited with ${code}`;
      const detail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new ProgramFailed(program, code, stderr, `${program} ${args[0] ?? ''} ${why}${detail ? `: ${detail}` : ''}`));
    });
    child.stdin.on('error', () => {
      /* the program may exit before reading its input; its exit status reports the failure */
    });
    child.stdin.end(options.input ?? '');
  });
}
