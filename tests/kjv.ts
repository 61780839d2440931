// Shared by the tests that read the King James Bible from Debian's bibledit-data (installed by
// `deno task setup`): its path, whether it is installed, and its documents.
import { type Doc, parseKjv } from "../pipeline/data/sources.ts";

export const KJV_XML = "/usr/share/bibledit/sources/kjv.xml";
export const haveKjv = await Deno.stat(KJV_XML).then(() => true, () => false);

export async function kjvDocs(): Promise<Doc[]> {
  return parseKjv(await Deno.readTextFile(KJV_XML));
}
