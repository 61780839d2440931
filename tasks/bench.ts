// `deno task bench <name> [--json] [...]`: runs bench/<name>.ts (core, webgpu, glyphs, tokenizer,
// eval, ...). Each benchmark prints its figures next to a named peer measured in the same run.
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { v8FlagArgs } from "./v8_flags.ts";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..", "bench");
const names = [...Deno.readDirSync(benchDir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts"))
  .map((e) => basename(e.name, ".ts"))
  .sort();
const [name, ...rest] = Deno.args;
if (!name || !names.includes(name)) {
  console.error(
    `bench: ${name ? `unknown benchmark "${name}"` : "no benchmark named"}; ` +
      `choose one of: ${names.join(", ")} (e.g. \`deno task bench core --json\`)`,
  );
  Deno.exit(2);
}
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", ...(await v8FlagArgs()), join(benchDir, `${name}.ts`), ...rest],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
Deno.exit((await child.status).code);
