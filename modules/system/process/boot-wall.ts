/**
 * The wall-clock time of boot (CLOCK_REALTIME - CLOCK_BOOTTIME) that turns the kernel's
 * boot-clock times into dates. It only moves when the wall clock is stepped, and some hosts
 * step it in small increments all the time (a VM's clock being steered: 5 ms a second was
 * seen here). Taking each new sample would give one process a different process.start on
 * each document, and the two backends different ones; so one offset is kept for the whole
 * procbeat process and replaced only when the clock has really been set (a step larger than
 * `stepNs`, default 1 s, the precision Auditbeat's whole-second boot time has anyway).
 */
export class SteadyBootWall {
  private kept: bigint | undefined;

  constructor(private readonly stepNs = 1_000_000_000n) {}

  /** The offset to use for a fresh sample. */
  steady(sampleNs: bigint): bigint {
    const k = this.kept;
    if (k === undefined || sampleNs - k > this.stepNs || k - sampleNs > this.stepNs) this.kept = sampleNs;
    return this.kept!;
  }
}

/** The one offset both backends of this procbeat use for the live host. */
export const hostBootWall = new SteadyBootWall();
