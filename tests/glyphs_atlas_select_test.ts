// Tests for the run atlas selection: script samples and multi-character tokens, ids valid.

import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import { atlasSelection } from "../pipeline/glyphs/atlas_select.ts";

Deno.test("atlasSelection: letters of each script, then multi-character tokens", () => {
  const tokens = ["\n", " ", "b", "a", "α", "א", "я", "中", "1", "the", "καὶ", "на", "的文件"];
  const ids = atlasSelection(tokens, 2, 3);
  // letters sorted by code point within each script, digits and spaces left out
  assertEquals(ids.slice(0, 6).map((i) => tokens[i]), ["a", "b", "α", "א", "я", "中"]);
  // one multi-character token per script in turn (Latin, Greek, Cyrillic), limited to 3
  assertEquals(ids.slice(6).map((i) => tokens[i]), ["the", "καὶ", "на"]);
});

Deno.test("atlasSelection: ids are distinct, in range, and at most perScript*5 + multi", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ minLength: 1, maxLength: 3, unit: "grapheme" }), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 8 }),
      (tokens, per, multi) => {
        const ids = atlasSelection(tokens, per, multi);
        assertEquals(new Set(ids).size, ids.length);
        assert(ids.every((i) => i >= 0 && i < tokens.length), "in range");
        assert(ids.length <= per * 5 + multi, "bounded");
      },
    ),
  );
});

Deno.test("atlasSelection: an empty vocabulary is a one-line error", () => {
  let msg = "";
  try {
    atlasSelection([]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("empty vocabulary"), msg);
});

Deno.test("atlasSelection: samples spread over a script, both cases of Latin", () => {
  const letters = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"];
  const picked = atlasSelection(letters, 4, 0).map((i) => letters[i]);
  assertEquals(picked, ["A", "N", "a", "n"]);
});
