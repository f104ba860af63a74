"""A CLIP model of a real shape with random weights, laid out as openai/CLIP's model.py lays it out, for the graph
benchmarks (test/Microsoft.ML.Clip.Benchmarks/GraphBench.cs, build/bench-graph.sh): the same weights as an OpenAI-named
PyTorch checkpoint (for `clip convert`, i.e. our exporter) and as torch.onnx exports of its two towers (PyTorch's
exporter), so that both graphs run the same model under the same ONNX Runtime session options. Written for these
benchmarks from the architecture's description (pre-norm residual attention blocks with nn.MultiheadAttention in
sequence-first layout, QuickGELU, class token, EOT pooling); Debian 12's /usr/bin/python3 with python3-torch (1.13).

    torch_clip.py PRESET OUT_DIR     writes OUT_DIR/model.pt (float16 state dict), OUT_DIR/torch.image.onnx and
                                     OUT_DIR/torch.text.onnx (float32, opset 17, symbolic batch), then one JSON line

Presets: vit-b32 (OpenAI's ViT-B/32: embed 512, 224 px, patch 32, width 768, 12 layers; text width 512, 8 heads,
12 layers, context 77, vocabulary 49408). Weights are drawn from a fixed seed and rounded to float16 (as OpenAI's
releases are), so the float16 file and the float32 exports hold the same values.
"""
import json
import os
import sys
from collections import OrderedDict

import torch
from torch import nn

PRESETS = {
    # embed, resolution, patch, vision width, vision layers, text width, text heads, text layers, context, vocab
    "vit-b32": (512, 224, 32, 768, 12, 512, 8, 12, 77, 49408),
    "vit-tiny": (64, 64, 16, 128, 2, 64, 1, 2, 77, 49408),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """Pre-norm residual attention block; activations sequence-first [L, N, D] as nn.MultiheadAttention takes them."""

    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.mask = mask

    def forward(self, x):
        mask = None if self.mask is None else self.mask.to(dtype=x.dtype)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Stack(nn.Module):
    def __init__(self, d, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(d, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, resolution, patch, width, layers, embed):
        super().__init__()
        s = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(s * torch.randn(width))
        self.positional_embedding = nn.Parameter(s * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Stack(width, layers, width // 64)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(s * torch.randn(width, embed))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype))
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Clip(nn.Module):
    def __init__(self, embed, resolution, patch, vwidth, vlayers, twidth, theads, tlayers, context, vocab):
        super().__init__()
        self.visual = Visual(resolution, patch, vwidth, vlayers, embed)
        mask = torch.full((context, context), float("-inf")).triu_(1)
        self.transformer = Stack(twidth, tlayers, theads, mask)
        self.token_embedding = nn.Embedding(vocab, twidth)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(context, twidth))
        self.ln_final = nn.LayerNorm(twidth)
        self.text_projection = nn.Parameter(twidth ** -0.5 * torch.randn(twidth, embed))
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


class TextTower(nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, ids):
        return self.clip.encode_text(ids)


def main(preset, out_dir):
    torch.manual_seed(0)
    model = Clip(*PRESETS[preset]).eval()
    with torch.no_grad():
        # Random, non-trivial norms and biases (a fresh LayerNorm is the identity), then float16-representable values.
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name or name.startswith("ln_"):
                p.add_(0.05 * torch.randn_like(p))
            p.copy_(p.half().float())
    os.makedirs(out_dir, exist_ok=True)
    state = OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items())
    torch.save(state, os.path.join(out_dir, "model.pt"))
    embed, resolution, *_rest = PRESETS[preset]
    context = PRESETS[preset][8]
    with torch.no_grad():
        torch.onnx.export(model.visual, torch.randn(2, 3, resolution, resolution), os.path.join(out_dir, "torch.image.onnx"),
                          input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=17)
        ids = torch.zeros(2, context, dtype=torch.int64)
        ids[:, 0], ids[:, 5] = 49406, 49407
        torch.onnx.export(TextTower(model), ids, os.path.join(out_dir, "torch.text.onnx"),
                          input_names=["input_ids"], output_names=["text_embeds"],
                          dynamic_axes={"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}}, opset_version=17)
    print(json.dumps({"preset": preset, "out": out_dir, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
