// Layer-wise growth on a frozen substrate (the companion paper, arXiv 2507.07129): a model of
// k blocks starts from its parent of k-1 blocks. The parent's blocks and the input table are
// frozen (passed as `frozen`: no gradients, no optimizer state, saved bit-identical); the new
// top block is freshly initialised, and the final norm and output head start as the parent's
// and stay trainable. `growInit` builds that split; `frozenBlocksIdentical` checks a child
// checkpoint against its parent, tensor by tensor, byte for byte.

import { relative } from "node:path";
import {
  type BlockParams,
  type FrozenTable,
  type GPTConfig,
  type GPTParams,
  initGPT,
} from "../../core/gpt.ts";
import { disposeTree, type Tensor, tensor } from "../../core/tensor.ts";
import type { StDict } from "../../core/safetensors.ts";
import { unflattenParams } from "../eval/checkpoint.ts";
import { mix3 } from "../train/batches.ts";
import { type Lineage, loadCheckpoint } from "../train/checkpoint.ts";

/** Tensors of a saved dict as a parameter tree (vocab_ids and other non-F32 entries left out). */
function treeOf(dict: StDict): GPTParams {
  const named: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(dict)) {
    if (t.dtype === "F32") named[k] = tensor(t.data as Float32Array, [...t.shape]);
  }
  return unflattenParams(named);
}

/**
 * The initial split of a k-block child of `parent` (k-1 blocks): frozen = the table and the
 * parent's blocks, trainable = a new block k-1 (seeded), the parent's final norm and head.
 */
export function growInit(
  parent: StDict,
  gpt: GPTConfig,
  seed: number,
  table?: FrozenTable,
): { trainable: GPTParams; frozen: GPTParams; frozenBlocks: number[] } {
  const p = treeOf(parent);
  const k = gpt.layers;
  if ((p.blocks?.length ?? 0) !== k - 1) {
    throw new Error(
      `grow: the parent has ${p.blocks?.length ?? 0} blocks, a ${k}-block child needs ${k - 1} ` +
        "(rerun the previous grow stage)",
    );
  }
  if (gpt.embedding !== "frozen") {
    throw new Error("grow: growing needs a frozen input table (a frozen study arm, not trainable)");
  }
  // a fresh block drawn with the child's init (residual projections scaled for k blocks)
  const fresh = initGPT(gpt, { seed: mix3(seed, 0x620e, k), frozenTable: table });
  const top = fresh.trainable.blocks![k - 1];
  const { blocks: _b, lnf: _l, head: _h, ...restFresh } = fresh.trainable;
  disposeTree([restFresh, fresh.frozen, fresh.trainable.blocks!.slice(0, k - 1)]);
  disposeTree([fresh.trainable.lnf, fresh.trainable.head]);
  const blocks: (BlockParams | null)[] = Array.from({ length: k }, () => null);
  blocks[k - 1] = top;
  return {
    trainable: { blocks: blocks as BlockParams[], lnf: p.lnf, head: p.head },
    frozen: { wte: p.wte, blocks: p.blocks },
    frozenBlocks: Array.from({ length: k - 1 }, (_, i) => i),
  };
}

/** Read the parent checkpoint and build the child's initial weights and lineage. */
export async function growFromParent(
  parentDir: string,
  childDir: string,
  gpt: GPTConfig,
  seed: number,
  table?: FrozenTable,
): Promise<{ init: { trainable: GPTParams; frozen: GPTParams }; lineage: Lineage }> {
  const ck = await loadCheckpoint(parentDir);
  if (!ck.config.finished) {
    throw new Error(`grow: parent ${parentDir} is unfinished (finish the previous grow stage)`);
  }
  const { trainable, frozen, frozenBlocks } = growInit(ck.weights, gpt, seed, table);
  return {
    init: { trainable, frozen },
    lineage: {
      kind: "grow",
      parents: [{
        path: relative(childDir, parentDir),
        sha256: ck.config.files["model.safetensors"],
      }],
      frozenBlocks,
    },
  };
}

function sameBytes(a: StDict[string], b: StDict[string]): boolean {
  if (!a || !b || a.shape.join() !== b.shape.join()) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Compare a child checkpoint with its parent: every tensor of the frozen blocks and the table
 * byte for byte; and which of the child's leaves have optimizer state.
 */
export async function frozenBlocksIdentical(childDir: string, parentDir: string) {
  const child = await loadCheckpoint(childDir), parent = await loadCheckpoint(parentDir);
  const frozen = child.config.lineage?.frozenBlocks ?? [];
  const names = Object.keys(parent.weights).filter((n) =>
    n === "wte" || frozen.some((b) => n.startsWith(`blocks.${b}.`))
  );
  const differing = names.filter((n) => !sameBytes(child.weights[n], parent.weights[n]));
  const withState = Object.keys(child.optim)
    .filter((n) => n.startsWith("m."))
    .map((n) => n.slice(2))
    .filter((n) => n === "wte" || frozen.some((b) => n.startsWith(`blocks.${b}.`)));
  return {
    frozenBlocks: frozen,
    tensors: names.length,
    differing,
    frozenWithOptimizerState: withState,
  };
}
