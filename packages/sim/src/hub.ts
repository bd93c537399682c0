/**
 * The one place the platform state lives. Every input — from the broker hooks, the HTTP admin
 * API or `SimulatedTenant.step` — goes through `feed`, which runs `platformStep`, stores the new
 * state, hands the outputs to the caller's continuation (which answers the aedes hook: CONNACK,
 * SUBACK, PUBACK or refusal) and then carries out the outputs (through `execute`). Inputs that arrive while a step's outputs are being carried out (closing a client
 * makes aedes report its disconnection synchronously) are queued and stepped afterwards, in
 * arrival order, so steps never interleave.
 */
import { platformStep, type PlatformInput, type PlatformOutput, type PlatformState } from "@c8ylink/platform";

export type Outputs = readonly PlatformOutput[];

interface Pending {
  readonly input: PlatformInput;
  readonly then: ((outputs: Outputs) => void) | undefined;
}

export class Hub {
  private current: PlatformState;
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(
    initial: PlatformState,
    /** Carries out a step's outputs (deliveries, disconnections, logging). Must not throw. */
    private readonly execute: (input: PlatformInput, outputs: Outputs) => void,
    /** Reports an exception thrown by a continuation (the hub carries on). */
    private readonly onProblem: (message: string) => void,
  ) {
    this.current = initial;
  }

  state(): PlatformState {
    return this.current;
  }

  /** True while a step's outputs are being carried out. */
  busy(): boolean {
    return this.draining;
  }

  /** Steps `input` (now, or after the step in progress), calls `then` with its outputs, then executes them. */
  feed(input: PlatformInput, then?: (outputs: Outputs) => void): void {
    this.queue.push({ input, then });
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const { state, outputs } = platformStep(this.current, next.input);
        this.current = state;
        try {
          next.then?.(outputs);
        } catch (e) {
          this.onProblem(
            `continuation of ${next.input.type} threw: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        try {
          this.execute(next.input, outputs);
        } catch (e) {
          this.onProblem(
            `carrying out ${next.input.type} threw: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
