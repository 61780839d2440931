// tasks/v8_flags.ts: the deno tasks pass a V8 flag only when this Deno's V8 knows it (Deno
// refuses to start otherwise, e.g. on builds without the revectorizer), and the answer is
// cached per Deno build and flag.

import { join } from "node:path";
import { acceptedV8Flag, REVEC_FLAG } from "../tasks/v8_flags.ts";

Deno.test("v8_flags: an unknown V8 flag is left out, a known one passed, both cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = join(dir, "sub", "v8_flags.json");
    const bogus = "--no-such-v8-flag-in-any-build";
    if ((await acceptedV8Flag(bogus, cache)).length !== 0) throw new Error(`${bogus} was passed`);
    const cached = JSON.parse(await Deno.readTextFile(cache));
    if (!String(cached.build).endsWith(bogus) || cached.args.length !== 0) {
      throw new Error(`cache holds ${JSON.stringify(cached)}`);
    }
    // a flag every V8 knows is accepted (and replaces the cache entry for the other flag)
    const known = "--stack-size=984";
    const got = await acceptedV8Flag(known, cache);
    if (got.join(" ") !== `--v8-flags=${known}`) throw new Error(`known flag gave ${got}`);
    // a wrong cache entry for this build is believed (cheap), so the cache is what decides
    await Deno.writeTextFile(cache, JSON.stringify({ build: cached.build, args: ["--x"] }));
    if ((await acceptedV8Flag(bogus, cache)).join() !== "--x") throw new Error("cache ignored");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const x64Linux = Deno.build.target === "x86_64-unknown-linux-gnu";
Deno.test({
  name: `v8_flags: this Deno (${Deno.version.deno}) has the revectorize pass` +
    (x64Linux ? "" : " (skipped: only checked on x86_64 Linux builds)"),
  ignore: !x64Linux,
  async fn() {
    // the GEMM's speed depends on it: a Deno upgrade that drops the pass must be noticed
    const dir = await Deno.makeTempDir();
    try {
      const args = await acceptedV8Flag(REVEC_FLAG, join(dir, "c.json"));
      if (args.length !== 1) throw new Error(`Deno ${Deno.version.deno} refuses ${REVEC_FLAG}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
