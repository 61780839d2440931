// The V8 flags the deno tasks run with: deno.json calls `deno run ... $(deno run -A
// tasks/v8_flags.ts) tasks/<task>.ts`, and bench.ts passes the same to each benchmark. Today
// one flag: --experimental-wasm-revectorize, the V8 pass that fuses the GEMM pair kernel's
// f32x4 pairs into AVX2 (core/cpu/fast/revec_kernels.ts). V8 has it only where it was built
// with it (x64 builds of Deno have it; others may not), and Deno refuses to start with a flag
// its V8 does not know, so the flag is passed only after a child `deno eval` accepted it. The
// answer is cached per Deno build in .cache/v8_flags.json (a wrong cache can only cost speed:
// without the flag the fast kernels pick the plain GEMM, with the same results).

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REVEC_FLAG = "--experimental-wasm-revectorize";

const cacheFile = join(dirname(fileURLToPath(import.meta.url)), "..", ".cache", "v8_flags.json");

/** The `--v8-flags=...` arguments this Deno accepts (none, or the revectorize flag). */
export function v8FlagArgs(): Promise<string[]> {
  return acceptedV8Flag(REVEC_FLAG, cacheFile);
}

/** [`--v8-flags=<flag>`] when this Deno's V8 knows `flag`, else []; cached in `cache`. */
export async function acceptedV8Flag(flag: string, cache: string): Promise<string[]> {
  const build = `${Deno.version.deno} ${Deno.version.v8} ${Deno.build.target} ${flag}`;
  try {
    const cached = JSON.parse(await Deno.readTextFile(cache));
    if (cached.build === build && Array.isArray(cached.args)) return cached.args as string[];
  } catch { /* no cache yet, or unreadable: ask V8 */ }
  const arg = `--v8-flags=${flag}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", arg, "0"],
    stdout: "null",
    stderr: "null",
  }).output();
  const args = out.success ? [arg] : [];
  try {
    await Deno.mkdir(dirname(cache), { recursive: true });
    const tmp = `${cache}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify({ build, args }) + "\n");
    await Deno.rename(tmp, cache);
  } catch { /* read-only checkout: ask again next time */ }
  return args;
}

if (import.meta.main) console.log((await v8FlagArgs()).join(" "));
