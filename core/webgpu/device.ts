// WebGPU device start-up on Dawn (npm:webgpu): find an adapter, describe it (name, driver,
// backend, software or hardware), request the optional features glyphgrad can use (shader-f16,
// subgroups, chromium-experimental-subgroup-matrix) and the adapter's largest limits.
import { create, globals } from "webgpu";
import { paceDawnEvents } from "./pump.ts";

/** What the adapter is, in words a report can print. */
export interface AdapterInfo {
  name: string; // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "NVIDIA H100 80GB HBM3"
  vendor: string;
  driver: string; // the adapter's description string (driver and version where Dawn gives it)
  backend: string; // "vulkan", "metal", "d3d12", ... ("vulkan" is Dawn's default on Linux)
  software: boolean; // lavapipe / llvmpipe / SwiftShader: correct, never fast
  features: string[]; // optional features the device was created with
  subgroupMatrix: boolean; // adapter reports usable subgroup-matrix configurations
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterInfo;
}

/** One line saying what to install when no adapter exists. */
export const NO_ADAPTER_HELP = "no WebGPU adapter found: run `deno task setup`, or install " +
  "mesa-vulkan-drivers from bookworm-backports (software) or your GPU's Vulkan driver";

const WANTED: GPUFeatureName[] = [
  "shader-f16",
  "subgroups",
  "chromium-experimental-subgroup-matrix" as GPUFeatureName,
  "timestamp-query",
];

let gpuSingleton: GPU | undefined;

/** Dawn's GPU object (one per process; dawn.node lives as long as it is referenced). */
function getGPU(): GPU {
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    const dir = `/tmp/glyphgrad-xdg-${Deno.uid?.() ?? 0}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  }
  if (!gpuSingleton) {
    paceDawnEvents(); // before Dawn exists: its event pump must not spin on the main thread
    Object.assign(globalThis, globals);
    gpuSingleton = create([
      "enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia",
    ]);
  }
  return gpuSingleton;
}

function describe(adapter: GPUAdapter, features: string[]): AdapterInfo {
  const i = adapter.info as GPUAdapterInfo & {
    backendType?: string;
    adapterType?: string;
    isFallbackAdapter?: boolean;
    subgroupMatrixConfigs?: unknown[];
  };
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`;
  const software = /llvmpipe|lavapipe|swiftshader/i.test(text) || i.adapterType === "cpu" ||
    i.isFallbackAdapter === true;
  const backend = i.backendType ??
    (Deno.build.os === "darwin" ? "metal" : Deno.build.os === "windows" ? "d3d12" : "vulkan");
  return {
    name: i.device || i.description || i.vendor || "unknown adapter",
    vendor: i.vendor || "unknown",
    driver: i.description || "unknown",
    backend,
    software,
    features,
    subgroupMatrix: (i.subgroupMatrixConfigs?.length ?? 0) > 0 &&
      features.includes("chromium-experimental-subgroup-matrix"),
  };
}

/** The adapter Dawn offers (high-performance preference), or null when there is none. */
export async function findAdapter(): Promise<GPUAdapter | null> {
  try {
    return await getGPU().requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
}

/** Open a device with every wanted optional feature the adapter has and its largest limits. */
export async function openDevice(opts: { features?: boolean } = {}): Promise<GpuContext> {
  const adapter = await findAdapter();
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const features = opts.features === false ? [] : WANTED.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits,
  });
  return { device, adapter, info: describe(adapter, features) };
}

/** True when an adapter exists (decide test skipping at module load with top-level await). */
export async function webgpuAvailable(): Promise<boolean> {
  return (await findAdapter()) !== null;
}

/** The adapter's description without opening a device (null when there is none). */
export async function adapterInfo(): Promise<AdapterInfo | null> {
  const a = await findAdapter();
  return a
    ? describe(a, [...a.features].filter((f) => WANTED.includes(f as GPUFeatureName)))
    : null;
}
