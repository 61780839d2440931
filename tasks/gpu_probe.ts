// Prints one JSON line describing the WebGPU adapter Dawn finds (or why none): run as a child
// process by `deno task setup` and the smoke tests, so a native crash cannot take them down.
import { create, globals } from "webgpu";

if (!Deno.env.get("XDG_RUNTIME_DIR")) {
  const dir = `/tmp/glyphgrad-xdg-${Deno.uid?.() ?? 0}`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.env.set("XDG_RUNTIME_DIR", dir);
}
Object.assign(globalThis, globals);
try {
  const gpu = create([]); // keep referenced: Dawn crashes if it is collected mid-request
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    console.log(JSON.stringify({ ok: false, error: "Dawn found no WebGPU adapter" }));
  } else {
    const i = adapter.info;
    const software = /llvmpipe|lavapipe|swiftshader/i.test(`${i.description} ${i.device}`) ||
      (i as unknown as { adapterType?: string }).adapterType === "cpu";
    console.log(JSON.stringify({
      ok: true,
      vendor: i.vendor,
      device: i.device,
      description: i.description,
      architecture: i.architecture,
      backend: (i as unknown as { backendType?: string }).backendType ?? "vulkan",
      software,
    }));
  }
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `WebGPU unavailable: ${(e as Error).message}` }));
}
Deno.exit(0);
