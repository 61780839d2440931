# PyTorch (CPU) peer for bench/core.ts: matmul GFLOP/s at 256^3, 512^3, 1024^3 and training
# tokens/s of the same GPT (pre-LayerNorm, RoPE rotate-half, 4x GELU-tanh MLP, no linear biases,
# untied head, AdamW + global-norm clipping). Best of 1 and 2 threads. Prints one JSON object.
# The model (GPT, Block, rope) is also the outside reference of fixtures/torch_ref/make_dump.py.
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def matmul_gflops(n, reps):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def rope(x):  # x [B, T, H, D]
    B, T, H, D = x.shape
    half = D // 2
    j = torch.arange(half, dtype=torch.float64)
    inv = 10000.0 ** (-2 * j / D)
    th = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    c, s = th.cos().float()[None, :, None, :], th.sin().float()[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


class Block(torch.nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.wq, self.wk, self.wv, self.wo = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.w1, self.w2 = torch.nn.Linear(d, 4 * d, bias=False), torch.nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        B, T, D = x.shape
        h = self.ln1(x)
        q = rope(self.wq(h).view(B, T, self.h, -1)).transpose(1, 2)
        k = rope(self.wk(h).view(B, T, self.h, -1)).transpose(1, 2)
        v = self.wv(h).view(B, T, self.h, -1).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.wo(a)
        return x + self.w2(F.gelu(self.w1(self.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self, V, d, L, h):
        super().__init__()
        self.wte = torch.nn.Embedding(V, d)
        self.blocks = torch.nn.ModuleList(Block(d, h) for _ in range(L))
        self.lnf = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, V, bias=False)

    def forward(self, ids):
        x = self.wte(ids)
        for b in self.blocks:
            x = b(x)
        return self.head(self.lnf(x))


def train_tokens_per_s(cfg, steps):
    torch.manual_seed(0)
    V, d, L, h, T, B = cfg["vocab"], cfg["dModel"], cfg["layers"], cfg["heads"], cfg["context"], cfg["batch"]
    model = GPT(V, d, L, h)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    ids = torch.randint(0, V, (B, T))
    tg = torch.randint(0, V, (B, T))

    def step():
        loss = F.cross_entropy(model(ids).view(-1, V), tg.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    best = float("inf")
    for _ in range(steps):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return B * T / best


def main():
    cfg = json.loads(sys.argv[1])
    out = {"torch": torch.__version__, "threads": {}}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        out["threads"][threads] = {
            "matmul_gflops": {str(n): matmul_gflops(n, cfg["reps"]) for n in (256, 512, 1024)}
            if cfg.get("matmul", True) else None,
            "train_tokens_per_s": train_tokens_per_s(cfg, cfg["steps"]),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
