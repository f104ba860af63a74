"""PyTorch anchor for build/bench-train.sh: one CLIP training step of the tiny preset, same shapes and update as
ClipTrainer (ViT 64 px patch 8 width 128 x4, text width 128 x4 context 77, embed 64, QuickGELU, InfoNCE, AdamW
0.9/0.98/1e-6 wd 0.2 without decay on 1-D/embedding/temperature params, grad-norm clip 1, temperature clamp).
Written for this benchmark; prints pytorch_step_seconds=..."""
import math, sys, time
import torch
from torch import nn

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 256
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(w, heads, batch_first=True)
        self.ln_1, self.ln_2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.mlp = nn.Sequential(nn.Linear(w, 4 * w), QuickGELU(), nn.Linear(4 * w, w))

    def forward(self, x, mask=None):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class TinyClip(nn.Module):
    def __init__(self, res=64, patch=8, vw=128, vl=4, tw=128, th=2, tl=4, embed=64, ctx=77, vocab=49408):
        super().__init__()
        s = vw ** -0.5
        self.conv1 = nn.Conv2d(3, vw, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(s * torch.randn(vw))
        self.vpos = nn.Parameter(s * torch.randn((res // patch) ** 2 + 1, vw))
        self.ln_pre, self.ln_post = nn.LayerNorm(vw), nn.LayerNorm(vw)
        self.vblocks = nn.ModuleList(Block(vw, vw // 64) for _ in range(vl))
        self.proj = nn.Parameter(s * torch.randn(vw, embed))
        self.token_embedding = nn.Embedding(vocab, tw)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(ctx, tw))
        self.tblocks = nn.ModuleList(Block(tw, th) for _ in range(tl))
        self.ln_final = nn.LayerNorm(tw)
        self.text_projection = nn.Parameter(tw ** -0.5 * torch.randn(tw, embed))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.register_buffer("mask", torch.full((ctx, ctx), float("-inf")).triu(1), persistent=False)

    def encode_image(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.vpos
        x = self.ln_pre(x)
        for b in self.vblocks:
            x = b(x)
        return self.ln_post(x[:, 0]) @ self.proj

    def encode_text(self, t):
        x = self.token_embedding(t) + self.positional_embedding
        for b in self.tblocks:
            x = b(x, self.mask)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), t.argmax(-1)] @ self.text_projection


model = TinyClip()
decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n and "vpos" not in n]
no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n and "vpos" not in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.2}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
images = torch.randn(batch, 3, 64, 64)
tokens = torch.randint(1, 49406, (batch, 77))
ends = torch.randint(5, 77, (batch,))
for r in range(batch):
    tokens[r, ends[r]] = 49407
    tokens[r, ends[r] + 1:] = 0
labels = torch.arange(batch)


def step():
    opt.zero_grad()
    i = model.encode_image(images)
    t = model.encode_text(tokens)
    i, t = i / i.norm(dim=1, keepdim=True), t / t.norm(dim=1, keepdim=True)
    logits = model.logit_scale.exp() * i @ t.t()
    loss = (nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.t(), labels)) / 2
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))


step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
median = sorted(times)[len(times) // 2]
print(f"pytorch_step_seconds={median:.3f} samples_per_second={batch / median:.1f} threads={threads} batch={batch} "
      f"steps=[{', '.join(f'{t:.3f}' for t in times)}]")
