// `deno task setup`: idempotent provisioning of what glyphgrad needs from the system (font,
// Unicode data, text corpora, software WebGPU), each verified after install, ending with a table of
// what is available. Installs with apt as root on Debian/Ubuntu; elsewhere prints what is missing.
//   deno task setup [--quiet] [--json] [--for pipeline|eval|test|bench] [--no-install]
import { parseArgs } from "node:util";
import { join } from "node:path";

export interface Check {
  ok: boolean;
  detail: string;
}
export interface Requirement {
  name: string;
  /** Debian packages that provide it; `backports` ones come from bookworm-backports. */
  packages: string[];
  backports?: boolean;
  /** Which tasks cannot run without it. */
  requiredFor: string[];
  /** Which tasks use it when present (installed, but its absence is not an error). */
  wantedFor?: string[];
  howElse: string;
  check: () => Promise<Check>;
}

const FONT = "/usr/share/fonts/opentype/unifont/unifont.otf";
const FONT_UPPER = "/usr/share/fonts/opentype/unifont/unifont_upper.otf";
const ALL = ["pipeline", "eval", "test", "bench"];
const DEBREF_LANGS = ["de", "es", "fr", "it", "pt", "ja", "zh-cn"];

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** Number of glyphs in an OpenType/TrueType font, read from its `maxp` table. */
export function fontGlyphCount(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numTables = v.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    const tag = String.fromCharCode(...bytes.subarray(rec, rec + 4));
    if (tag === "maxp") return v.getUint16(v.getUint32(rec + 8) + 4);
  }
  throw new Error("font has no maxp table");
}

async function fileCheck(paths: string[], what: string): Promise<Check> {
  const missing: string[] = [];
  for (const p of paths) if (!(await exists(p))) missing.push(p);
  return missing.length ? { ok: false, detail: `missing ${missing.join(", ")}` } : {
    ok: true,
    detail: what,
  };
}

/** Ask Dawn for an adapter in a child process (a crash in native code must not kill setup). */
export async function probeWebGPU(): Promise<Check> {
  const probe = new URL("./gpu_probe.ts", import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", probe],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    const info = JSON.parse(text);
    if (!info.ok) return { ok: false, detail: info.error };
    return {
      ok: true,
      detail: `${info.description || info.device || info.vendor} (${info.backend}, ${
        info.software ? "software" : "hardware"
      })`,
    };
  } catch {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return { ok: false, detail: `probe failed: ${err || "no output"}` };
  }
}

export const requirements: Requirement[] = [
  {
    name: "font",
    packages: ["fonts-unifont"],
    requiredFor: ALL,
    howElse: `install GNU Unifont so that ${FONT} exists (https://unifoundry.com/unifont/)`,
    check: async () => {
      const base = await fileCheck([FONT, FONT_UPPER], "");
      if (!base.ok) return base;
      const n = fontGlyphCount(await Deno.readFile(FONT));
      return { ok: n > 50000, detail: `${FONT} (${n} glyphs)` };
    },
  },
  {
    name: "unicode-data",
    packages: ["unicode-data"],
    requiredFor: ALL,
    howElse: "install the Unicode Character Database into /usr/share/unicode/",
    check: async () => {
      const dir = "/usr/share/unicode";
      const c = await fileCheck(
        ["UnicodeData.txt", "Blocks.txt", "Scripts.txt"].map((f) => join(dir, f)),
        "",
      );
      if (!c.ok) return c;
      const lines = (await Deno.readTextFile(join(dir, "UnicodeData.txt"))).split("\n").length;
      return { ok: true, detail: `${dir} (UnicodeData.txt: ${lines} lines)` };
    },
  },
  {
    name: "corpora",
    packages: ["bibledit-data", "wordnet-base", "fortunes-ru", "fortunes-zh"],
    requiredFor: ALL,
    howElse: "install the Debian packages bibledit-data (KJV, Greek NT, Hebrew OT), " +
      "wordnet-base, fortunes-ru and fortunes-zh, or pass your own text with --corpus",
    check: () =>
      fileCheck([
        "/usr/share/bibledit/sources/kjv.xml",
        "/usr/share/bibledit/sources/sblgnt/sblgnt.xml",
        "/usr/share/bibledit/sources/oshb.xml.gz",
        "/usr/share/wordnet/data.noun",
        "/usr/share/games/fortunes/ru",
        "/usr/share/games/fortunes/chinese",
      ], "KJV (en), SBLGNT (el), OSHB (he), fortunes (ru, zh), WordNet 3.0"),
  },
  {
    name: "reference-texts",
    packages: DEBREF_LANGS.map((l) => `debian-reference-${l}`),
    requiredFor: [],
    wantedFor: ["bench"],
    howElse: "install debian-reference-{de,es,fr,it,pt,ja,zh-cn} (the tokenizer's report text)",
    check: () =>
      fileCheck(
        DEBREF_LANGS.map((l) => `/usr/share/debian-reference/index.${l}.html`),
        `Debian Reference in ${DEBREF_LANGS.join(", ")}`,
      ),
  },
  {
    name: "plot-font",
    packages: ["fonts-dejavu-core"],
    requiredFor: ["pipeline", "eval", "test"],
    howElse: "install DejaVu Sans (/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf) for plots",
    check: () =>
      fileCheck(["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"], "DejaVu Sans (plot labels)"),
  },
  {
    name: "pytorch-peer",
    packages: ["python3-torch", "libopenblas0-pthread"],
    requiredFor: [],
    wantedFor: ["bench", "test"],
    howElse: "install PyTorch for /usr/bin/python3 (the named peer of `deno task bench core` " +
      "and the GPT-NeoX reference of tests/export_neox_test.ts)",
    check: async () => {
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", "import torch; print(torch.__version__)"],
        stdout: "piped",
        stderr: "null",
      }).output().catch(() => null);
      const v = out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
      return v ? { ok: true, detail: `PyTorch ${v} (bench peer, export reference)` } : {
        ok: false,
        detail: "PyTorch not importable by /usr/bin/python3",
      };
    },
  },
  {
    name: "webgpu",
    packages: ["libvulkan1", "mesa-vulkan-drivers"],
    backports: true,
    requiredFor: [],
    wantedFor: ALL,
    howElse: "install a Vulkan driver (a GPU driver, or Mesa >= 23 lavapipe: " +
      "apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1)",
    check: probeWebGPU,
  },
];

const BACKPORTS = "/etc/apt/sources.list.d/glyphgrad-backports.sources";

async function run(cmd: string, args: string[], quiet: boolean): Promise<boolean> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success && !quiet) console.error(new TextDecoder().decode(out.stderr));
  return out.success;
}

async function isDebianRoot(): Promise<boolean> {
  return Deno.uid?.() === 0 && (await exists("/usr/bin/apt-get")) &&
    (await exists("/etc/debian_version"));
}

async function hasBackports(): Promise<boolean> {
  const out = await new Deno.Command("grep", {
    args: ["-rqs", "bookworm-backports", "/etc/apt/sources.list", "/etc/apt/sources.list.d"],
  }).output();
  return out.success;
}

/** Add bookworm-backports to apt sources when on Debian 12 and it is not there yet. */
async function ensureBackports(): Promise<boolean> {
  const release = await Deno.readTextFile("/etc/os-release").catch(() => "");
  if (!/VERSION_CODENAME=bookworm/.test(release)) return false;
  if (await hasBackports()) return false;
  await Deno.writeTextFile(
    BACKPORTS,
    "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\n" +
      "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
  );
  return true;
}

export interface SetupResult {
  installed: string[];
  status: { name: string; ok: boolean; detail: string; required: boolean }[];
  missingRequired: string[];
}

export async function setup(
  opts: { purpose: string; install: boolean; quiet: boolean },
): Promise<SetupResult> {
  const log = (s: string) => opts.quiet || console.error(s);
  const installed: string[] = [];
  let updated = false;
  const status: SetupResult["status"] = [];
  for (const req of requirements) {
    const required = req.requiredFor.includes(opts.purpose);
    const wanted = required || (req.wantedFor ?? []).includes(opts.purpose);
    let c = await req.check();
    if (!c.ok && wanted && opts.install && (await isDebianRoot())) {
      log(`setup: ${req.name} missing (${c.detail}); installing ${req.packages.join(" ")}`);
      const added = req.backports ? await ensureBackports() : false;
      if (!updated || added) updated = await run("apt-get", ["update", "-qq"], opts.quiet);
      const target = req.backports && (await hasBackports()) ? ["-t", "bookworm-backports"] : [];
      if (await run("apt-get", ["install", "-y", "-qq", ...target, ...req.packages], opts.quiet)) {
        installed.push(...req.packages);
      }
      c = await req.check();
    }
    status.push({ name: req.name, ok: c.ok, detail: c.detail, required });
  }
  const missingRequired = status.filter((s) => !s.ok && s.required).map((s) => s.name);
  return { installed, status, missingRequired };
}

export function formatTable(r: SetupResult): string {
  const rows = r.status.map((s) =>
    `| ${s.name} | ${s.ok ? "yes" : s.required ? "MISSING" : "no"} | ${s.detail} |`
  );
  return ["| what | available | detail |", "|---|---|---|", ...rows].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quiet: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "no-install": { type: "boolean", default: false },
      for: { type: "string", default: "pipeline" },
    },
  });
  const r = await setup({
    purpose: values.for!,
    install: !values["no-install"],
    quiet: values.quiet!,
  });
  if (values.json) console.log(JSON.stringify(r));
  else if (!values.quiet || r.installed.length || r.missingRequired.length) {
    console.error(formatTable(r));
  }
  for (const s of r.status.filter((s) => !s.ok)) {
    const req = requirements.find((q) => q.name === s.name)!;
    const apt = `apt-get install -y ${req.backports ? "-t bookworm-backports " : ""}${
      req.packages.join(" ")
    }`;
    const msg =
      `setup: ${s.name} not available (${s.detail}); as root run \`${apt}\`, or ${req.howElse}`;
    if (s.required || !values.quiet) console.error(msg);
  }
  if (r.missingRequired.length) {
    console.error(`setup: missing what \`${values.for}\` needs: ${r.missingRequired.join(", ")}`);
    Deno.exit(1);
  }
}
