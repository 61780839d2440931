#!/usr/bin/python3
# An outside reference for the GPT-NeoX export: a GPT-NeoX forward pass in PyTorch written
# (not copied) after the structure of Hugging Face transformers' modeling_gpt_neox.py
# (GPTNeoXModel / GPTNeoXLayer / GPTNeoXAttention / GPTNeoXMLP / rotate_half), reading an exported
# folder the way from_pretrained would: config.json and model.safetensors by their GPT-NeoX names.
# It knows nothing of glyphgrad's own layout.
#   /usr/bin/python3 tests/neox_torch_reference.py <folder> <ids.json> <logits.f32>
# ids.json: [[id, ...], ...] (equal lengths); writes float32 logits [B, T, vocab] little-endian.
import json
import math
import struct
import sys

import torch
from torch import nn


def load_safetensors(path):
    """name -> tensor, from the 8-byte header length, the JSON header and raw bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + a : base + b]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


ACT = {"gelu_new": gelu_new, "gelu_pytorch_tanh": gelu_new, "gelu": nn.functional.gelu}


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    def __init__(self, dim, base):
        super().__init__()
        self.inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))

    def forward(self, seq_len):
        t = torch.arange(seq_len, dtype=torch.float32)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg["num_attention_heads"]
        self.head_size = cfg["hidden_size"] // self.heads
        self.rotary_ndims = int(self.head_size * cfg.get("rotary_pct", 1.0))
        self.rotary = Rotary(self.rotary_ndims, cfg.get("rotary_emb_base", 10000))
        self.norm_factor = self.head_size**-0.5
        bias = cfg.get("attention_bias", True)
        self.query_key_value = nn.Linear(cfg["hidden_size"], 3 * cfg["hidden_size"], bias=bias)
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"], bias=bias)

    def forward(self, x):
        B, T, _ = x.shape
        qkv = self.query_key_value(x).view(B, T, self.heads, 3 * self.head_size)
        hs = self.head_size
        q = qkv[..., :hs].permute(0, 2, 1, 3)
        k = qkv[..., hs : 2 * hs].permute(0, 2, 1, 3)
        v = qkv[..., 2 * hs :].permute(0, 2, 1, 3)
        r = self.rotary_ndims
        cos, sin = self.rotary(T)
        q_rot = q[..., :r] * cos + rotate_half(q[..., :r]) * sin
        k_rot = k[..., :r] * cos + rotate_half(k[..., :r]) * sin
        q = torch.cat((q_rot, q[..., r:]), dim=-1)
        k = torch.cat((k_rot, k[..., r:]), dim=-1)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.norm_factor
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min))
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.permute(0, 2, 1, 3).reshape(B, T, self.heads * hs)
        return self.dense(out)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.dense_4h_to_h = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])
        self.act = ACT[cfg["hidden_act"]]

    def forward(self, x):
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layer_norm_eps"]
        self.parallel = cfg.get("use_parallel_residual", True)
        self.input_layernorm = nn.LayerNorm(cfg["hidden_size"], eps=eps)
        self.post_attention_layernorm = nn.LayerNorm(cfg["hidden_size"], eps=eps)
        self.attention = Attention(cfg)
        self.mlp = MLP(cfg)

    def forward(self, x):
        a = self.attention(self.input_layernorm(x))
        if self.parallel:
            return x + a + self.mlp(self.post_attention_layernorm(x))
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x))


class NeoXModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_in = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, ids):
        x = self.embed_in(ids)
        for layer in self.layers:
            x = layer(x)
        return self.final_layer_norm(x)


class NeoXForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gpt_neox = NeoXModel(cfg)
        self.embed_out = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, ids):
        return self.embed_out(self.gpt_neox(ids))


def main(folder, ids_path, out_path):
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    assert cfg["architectures"] == ["GPTNeoXForCausalLM"], cfg["architectures"]
    model = NeoXForCausalLM(cfg)
    state = load_safetensors(f"{folder}/model.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    inv = [k for k in missing if not k.endswith("inv_freq")]
    if inv or unexpected:
        sys.exit(f"state dict mismatch: missing {inv}, unexpected {unexpected}")
    with open(ids_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    torch.set_num_threads(1)
    with torch.no_grad():
        logits = model(ids).contiguous().float()
    with open(out_path, "wb") as f:
        f.write(logits.numpy().astype("<f4").tobytes())
    print(f"torch {torch.__version__}: logits {list(logits.shape)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
