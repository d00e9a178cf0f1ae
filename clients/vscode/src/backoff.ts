// When to restart a crashed server: exponential backoff, a reset once a server has run for a while, and a
// limit on crashes close together, after which the user decides. Pure logic: no vscode import.

export interface BackoffOptions {
  /** The delay before the first restart, in milliseconds. */
  initialMs: number;
  /** The longest delay between two restarts. */
  maxMs: number;
  /** A server that ran this long before crashing counts as healthy: the next delay starts again at initialMs. */
  healthyAfterMs: number;
  /** After this many crashes in a row (none of them after a healthy run) the client stops restarting. */
  maxCrashes: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1000,
  maxMs: 30_000,
  healthyAfterMs: 60_000,
  maxCrashes: 5,
};

export class RestartBackoff {
  private crashes = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The crashes counted so far in the current series. */
  get crashCount(): number {
    return this.crashes;
  }

  /**
   * Records a crash of a server that had run for ranMs, and returns how long to wait before restarting it,
   * or undefined when the series of crashes is too long and the client should give up.
   */
  onCrash(ranMs: number): number | undefined {
    if (ranMs >= this.options.healthyAfterMs) {
      this.crashes = 0;
    }
    this.crashes += 1;
    if (this.crashes > this.options.maxCrashes) {
      return undefined;
    }
    const delay = this.options.initialMs * 2 ** (this.crashes - 1);
    return Math.min(delay, this.options.maxMs);
  }

  /** Forgets the crashes, after a restart the user asked for. */
  reset(): void {
    this.crashes = 0;
  }
}
