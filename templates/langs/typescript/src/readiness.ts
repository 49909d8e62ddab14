{{^cron}}
// Readiness: what /readyz answers. Not ready (503) from the start until
// start-up is done (startup.ts), and again while shutting down, so that
// Kubernetes sends traffic only to a pod that can serve it.
// Liveness (/healthz) never looks here: a pod that is slow to get ready
// must not be restarted for it.

export interface ReadinessStatus {
  ready: boolean;
  phase: string; // "starting", "migrate", ..., "ready", "stopping"
  reason?: string; // why it is not ready, for a person reading /readyz
}

export class Readiness {
  #status: ReadinessStatus = { ready: false, phase: "starting" };

  /** Start-up entered a phase (not ready until markReady). */
  setPhase(phase: string, reason?: string): void {
    this.#status = reason === undefined ? { ready: false, phase } : { ready: false, phase, reason };
  }

  markReady(): void {
    this.#status = { ready: true, phase: "ready" };
  }

  /** Shutdown began: take the pod out of the Service's endpoints. */
  markStopping(): void {
    this.#status = { ready: false, phase: "stopping" };
  }

  status(): ReadinessStatus {
    return { ...this.#status };
  }
}
{{/cron}}
