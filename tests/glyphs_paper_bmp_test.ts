// The `paper` pictures of all 65,536 BMP code points (lone surrogates too) against the author's
// toolchain: the SHA-256 of the packed bits must equal the one Pillow + numpy give following
// the author's notebook on the same Unifont (fixtures/glyphs/bmp_paper_sha256.txt, made by
// fixtures/glyphs/make_bmp_hash.py; its command is written in it). A scale test (~1 min).

import { assertEquals } from "./assert.ts";
import { tokenPictures } from "../pipeline/glyphs/embed.ts";
import { sha256Hex } from "../pipeline/hash.ts";

Deno.test({
  name: "paper: all 65,536 BMP code points' pictures identical to Pillow's (hash of all bits)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const want = Deno.readTextFileSync(
      new URL("../fixtures/glyphs/bmp_paper_sha256.txt", import.meta.url),
    ).trim();
    const tokens = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c));
    const { pictures } = await tokenPictures(tokens, "paper"); // cells cached in .cache/glyphs
    const packed = new Uint8Array(pictures.length / 8);
    for (let i = 0; i < pictures.length; i++) {
      if (pictures[i] === 255) packed[i >> 3] |= 0x80 >> (i & 7);
    }
    assertEquals(await sha256Hex(packed), want);
  },
});
