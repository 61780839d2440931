// No import circle inside core/: every static, type-only and dynamic import between core/ files
// (read from the sources with a regex, so the check needs no network or `deno info`) forms an
// acyclic graph. A circle (e.g. backend.ts -> cpu/backend.ts -> cpu/ref.ts -> backend.ts, the
// one core/registry.ts removed) makes module evaluation order matter; this test names it.
import { assert, assertEquals } from "./assert.ts";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CORE = fileURLToPath(new URL("../core/", import.meta.url));

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Relative imports of one source (static `from "x"`, bare `import "x"`, `import("x")`). */
export function importsOf(src: string): string[] {
  const re = /(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;
  return [...src.matchAll(re)].map((m) => m[1]);
}

/** One cycle of the graph as a list of nodes (first = last), or undefined when acyclic. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of graph.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

Deno.test("core imports: the cycle finder finds a planted circle and passes a chain", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]);
  assertEquals(findCycle(g), ["a", "b", "c", "a"]);
  assertEquals(findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), undefined);
  assertEquals(importsOf(`import type { X } from "./x.ts";\nconst m = await import("../y.ts");`), [
    "./x.ts",
    "../y.ts",
  ]);
});

Deno.test("core imports: no circle among core/ modules", () => {
  const files = tsFiles(CORE);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = importsOf(Deno.readTextFileSync(f))
      .map((s) => resolve(dirname(f), s))
      .filter((p) => p.startsWith(CORE));
    graph.set(relative(CORE, f), deps.map((p) => relative(CORE, p)));
  }
  assert(graph.size > 20, `only ${graph.size} core files found`);
  const cycle = findCycle(graph);
  assert(!cycle, `import circle in core/: ${cycle?.join(" -> ")}`);
});
