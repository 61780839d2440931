// Validation of a parquet file before hyparquet decodes it. hyparquet trusts the sizes and counts
// in the footer and page headers: one flipped bit in a page header (fixtures/eval/arc_hf.parquet
// byte 366, 0x5c -> 0x54, drops data_page_header_v2's counts) sent its RLE level decoder into a
// loop that never ended. Here every column chunk's pages are walked with hyparquet's own header
// parser, inside the chunk's bytes only, and each size and count is checked against the footer
// and the file (the Thrift fields of parquet-format's PageHeader / ColumnMetaData): pages inside
// their chunk, known page types, headers present, value counts adding up to the chunk's, sizes
// no larger than the chunk's totals. A file that passes gives the decoder bounded work.

import { parquetMetadata } from "hyparquet";
// the page-header parser hyparquet itself uses (not in its index; pinned at 1.31.5 in deno.json)
import { parquetHeader } from "hyparquet/src/column.js";

const int = (x: unknown): number =>
  typeof x === "bigint" ? Number(x) : typeof x === "number" && Number.isInteger(x) ? x : NaN;
const count = (x: unknown, max = Number.MAX_SAFE_INTEGER) => {
  const n = int(x);
  return n >= 0 && n <= max;
};

/** Why the parquet bytes are not safe to decode (one line, no file name), or null. */
export function parquetProblem(bytes: Uint8Array): string | null {
  let md;
  try {
    md = parquetMetadata(bytes);
  } catch (e) {
    return `footer unreadable (${(e as Error).message.replace(/\s+/g, " ")})`;
  }
  const dataEnd = bytes.length - 8 - int(md.metadata_length);
  const rows = int(md.num_rows);
  if (!count(rows)) return `footer num_rows ${md.num_rows} is not a count`;
  let groupRows = 0;
  for (const [g, rg] of md.row_groups.entries()) {
    if (!count(rg.num_rows, rows)) return `row group ${g} has num_rows ${rg.num_rows}`;
    groupRows += int(rg.num_rows);
    for (const col of rg.columns) {
      const m = col.meta_data;
      const name = m?.path_in_schema?.join(".") ?? "?";
      if (!m) return `column ${name} in row group ${g} has no metadata`;
      const start = int(m.dictionary_page_offset ?? m.data_page_offset);
      const size = int(m.total_compressed_size), values = int(m.num_values);
      if (!count(start) || !count(size) || start + size > dataEnd || start < 4) {
        return `column ${name} in row group ${g}: bytes [${start}, +${size}] outside the data`;
      }
      if (!count(values) || !count(m.total_uncompressed_size)) {
        return `column ${name} in row group ${g} has bad sizes or counts`;
      }
      const why = pagesProblem(bytes.subarray(start, start + size), values, m);
      if (why) return `column ${name} in row group ${g}: ${why}`;
    }
  }
  if (groupRows !== rows) return `row groups hold ${groupRows} rows, the footer says ${rows}`;
  return null;
}

/** Walk one column chunk's pages (the chunk's bytes only) and check each header. */
function pagesProblem(
  chunk: Uint8Array,
  values: number,
  m: { total_uncompressed_size: unknown },
): string | null {
  const reader = {
    view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    offset: 0,
  };
  const maxUnc = int(m.total_uncompressed_size);
  let seen = 0;
  while (reader.offset < chunk.length) {
    const at = reader.offset;
    let h;
    try {
      h = parquetHeader(reader);
    } catch (e) {
      return `page header at chunk byte ${at} unreadable (${
        (e as Error).message.replace(/\s+/g, " ")
      })`;
    }
    const csize = int(h.compressed_page_size);
    if (!count(csize, chunk.length - reader.offset) || !count(h.uncompressed_page_size, maxUnc)) {
      return `page at chunk byte ${at} has sizes ${h.compressed_page_size} / ` +
        `${h.uncompressed_page_size} beyond its chunk`;
    }
    if (h.type === "DATA_PAGE") {
      const d = h.data_page_header;
      if (!d || !count(d.num_values, values - seen)) {
        return `data page at chunk byte ${at} lacks a valid num_values`;
      }
      seen += int(d.num_values);
    } else if (h.type === "DATA_PAGE_V2") {
      const d = h.data_page_header_v2;
      if (!d || !count(d.num_values, values - seen)) {
        return `data page v2 at chunk byte ${at} lacks a valid num_values`;
      }
      const nv = int(d.num_values);
      if (!count(d.num_nulls, nv) || !count(d.num_rows, nv)) {
        return `data page v2 at chunk byte ${at} has bad num_nulls / num_rows`;
      }
      const levels = int(d.definition_levels_byte_length) + int(d.repetition_levels_byte_length);
      if (!count(levels, csize)) {
        return `data page v2 at chunk byte ${at} has level lengths beyond the page`;
      }
      seen += nv;
    } else if (h.type === "DICTIONARY_PAGE") {
      if (!h.dictionary_page_header || !count(h.dictionary_page_header.num_values, maxUnc)) {
        return `dictionary page at chunk byte ${at} lacks a valid num_values`;
      }
    } else if (h.type !== "INDEX_PAGE") {
      return `page at chunk byte ${at} has unknown type ${h.type}`;
    }
    reader.offset += csize;
  }
  if (seen !== values) return `pages hold ${seen} values, the footer says ${values}`;
  return null;
}
