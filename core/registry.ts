// The backend registry: which backend new tensors are made on. "cpu" and "cpu-ref" are built in;
// others (WebGPU) register a factory once their async start-up is done. This module sits above
// backend.ts (the interface) and cpu/backend.ts, so that nothing in core/ imports in a circle.
// (`use_backend.ts` resolves a user's backend name on top of it.)

import type { Backend } from "./backend.ts";
import { createCpuBackend, createRefBackend } from "./cpu/backend.ts";

export type BackendName = "cpu" | "cpu-ref" | "webgpu";
type Factory = () => Backend;

const factories = new Map<string, Factory>([
  ["cpu", createCpuBackend],
  ["cpu-ref", createRefBackend],
]);
const instances = new Map<string, Backend>();
let current: Backend | undefined;

/**
 * Register a backend factory under a name. Registering a name again replaces its factory and
 * drops the instance made by the old one, so the next `setBackend(name)` builds a fresh one.
 */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
  instances.delete(name);
}

/** Pick the active backend by name or instance. Tensors keep the backend they were made on. */
export function setBackend(which: BackendName | string | Backend): Backend {
  if (typeof which !== "string") {
    current = which;
    return which;
  }
  let b = instances.get(which);
  if (!b) {
    const f = factories.get(which);
    if (!f) {
      throw new Error(
        `backend "${which}" is not registered: import its module first ` +
          `(known: ${[...factories.keys()].join(", ")})`,
      );
    }
    b = f();
    instances.set(which, b);
  }
  current = b;
  return b;
}

/** The active backend; defaults to "cpu". */
export function getBackend(): Backend {
  if (!current) setBackend("cpu");
  return current!;
}
