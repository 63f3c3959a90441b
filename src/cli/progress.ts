/**
 * A progress bar with rate and ETA on a terminal (stderr), silent on a pipe unless asked.
 */
import { iec } from './output.js';

export class ProgressBar {
  #start = Date.now();
  #last = 0;
  #shown = false;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
    /** Whether `done`/`total` count bytes (shown in IEC units) or items. */
    private readonly bytes: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return; // at most ten redraws a second
    this.#last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = (now - this.#start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0;
    const amount = this.bytes ? `${iec(done)}/${iec(total)} ${iec(rate)}/s` : `${done}/${total} ${rate.toFixed(1)}/s`;
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${amount} ETA ${eta}s`;
    this.out.write(`\r${line}\u001b[K`);
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) this.out.write('\n');
    this.#shown = false;
  }
}
