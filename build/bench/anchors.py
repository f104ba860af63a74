"""Python anchors for the .NET benchmarks (test/Microsoft.ML.Clip.Benchmarks): a worker that the benchmark process
starts once per anchor and drives over stdin, so that each anchor pass alternates with the .NET pass it is compared
with (build/bench-table.sh). Written for these benchmarks; Debian 12's /usr/bin/python3 with python3-torch,
python3-torchvision, python3-pil and python3-numpy.

    anchors.py preprocess DIR RESOLUTION WORKERS   Pillow + torchvision: OpenAI's _transform(RESOLUTION) over the
                                                   JPEGs of DIR (read into memory first), WORKERS processes of one
                                                   thread each (a DataLoader's workers)
    anchors.py gemm SIZE THREADS                   numpy float32 SIZE x SIZE matrix product (BLAS as loaded)
    anchors.py torch-gemm SIZE THREADS             the same product through torch.matmul
    anchors.py export-vit PRESET OUT.onnx          torch.onnx export of a CLIP ViT image tower (random weights), then exits

Protocol (workers): after start-up the worker prints "ready"; each line "run SECONDS" does whole passes until SECONDS
have passed (at least one) and prints one JSON line {"items": n, "seconds": wall, "cpu_seconds": process CPU}.
"""
import glob
import io
import json
import os
import sys
import time


def serve(setup, one_pass):
    """Runs the stdin protocol: one_pass() does one pass and returns how many items it processed, or (items, CPU seconds
    spent in worker processes, which this process's clock does not see)."""
    setup()
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        budget = float(parts[1]) if len(parts) > 1 else 0.0
        items, worker_cpu, wall0, cpu0 = 0, 0.0, time.perf_counter(), time.process_time()
        while True:
            done = one_pass()
            if isinstance(done, tuple):
                items, worker_cpu = items + done[0], worker_cpu + done[1]
            else:
                items += done
            if time.perf_counter() - wall0 >= budget:
                break
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0 + worker_cpu
        print(json.dumps({"items": items, "seconds": wall, "cpu_seconds": cpu}), flush=True)


# --- preprocessing ---------------------------------------------------------------------------------------------------
_files, _transform, _pool = [], None, None


def _make_transform(n):
    import torch
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    torch.set_num_threads(1)
    # OpenAI's _transform(n): the reference preprocessing (convert('RGB') is a no-op on RGB JPEGs but kept).
    return Compose([Resize(n, interpolation=InterpolationMode.BICUBIC), CenterCrop(n), lambda im: im.convert("RGB"),
                    ToTensor(), Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])


def _preprocess_chunk(chunk):
    from PIL import Image
    cpu0 = time.process_time()
    for data in chunk:
        _transform(Image.open(io.BytesIO(data)))
    return len(chunk), time.process_time() - cpu0


def _init_worker(n, files):
    global _transform, _files
    _transform, _files = _make_transform(n), files


def preprocess(folder, n, workers):
    global _files, _transform, _pool
    n, workers = int(n), int(workers)

    def setup():
        global _files, _transform, _pool
        _files = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(folder, "*.jpg")))]
        if not _files:
            sys.exit(f"no .jpg files in {folder}")
        if workers <= 1:
            _transform = _make_transform(n)
        else:
            import multiprocessing
            _pool = multiprocessing.get_context("fork").Pool(workers, _init_worker, (n, _files))

    def one_pass():
        if _pool is None:
            return _preprocess_chunk(_files)[0]
        # One chunk of images per task, as a DataLoader hands batches to its workers.
        chunks = [_files[i:i + 8] for i in range(0, len(_files), 8)]
        done = _pool.map(_preprocess_chunk, chunks)
        return sum(d[0] for d in done), sum(d[1] for d in done)

    serve(setup, one_pass)


# --- GEMM ------------------------------------------------------------------------------------------------------------
def gemm(size, threads, use_torch=False):
    size, threads = int(size), int(threads)
    state = {}

    def setup():
        import numpy as np
        rng = np.random.default_rng(0)
        state["a"] = rng.standard_normal((size, size), dtype=np.float32)
        state["b"] = rng.standard_normal((size, size), dtype=np.float32)
        if use_torch:
            import torch
            torch.set_num_threads(threads)
            state["a"], state["b"] = torch.from_numpy(state["a"]), torch.from_numpy(state["b"])
            state["mm"] = torch.matmul
        else:
            state["mm"] = np.matmul
        state["mm"](state["a"], state["b"])  # warm-up (thread pool, kernels)

    def one_pass():
        state["mm"](state["a"], state["b"])
        return 1  # one product = 2 * size^3 FLOP; the caller converts

    serve(setup, one_pass)


# --- torch.onnx export of a ViT image tower --------------------------------------------------------------------------
PRESETS = {  # width, layers, patch, resolution, embed (OpenAI's ViT-B/32 and ViT-B/16 shapes)
    "base": (768, 12, 32, 224, 512),
    "base16": (768, 12, 16, 224, 512),
}


def export_vit(preset, out_path):
    import torch
    from torch import nn
    width, layers, patch, resolution, embed = PRESETS[preset]
    torch.manual_seed(0)

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):  # pre-norm residual attention block, sequence-first as in OpenAI's CLIP
        def __init__(self, d):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, d // 64)
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class Vit(nn.Module):
        def __init__(self):
            super().__init__()
            s = width ** -0.5
            self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
            self.class_embedding = nn.Parameter(s * torch.randn(width))
            self.positional_embedding = nn.Parameter(s * torch.randn((resolution // patch) ** 2 + 1, width))
            self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
            self.blocks = nn.ModuleList(Block(width) for _ in range(layers))
            self.proj = nn.Parameter(s * torch.randn(width, embed))

        def forward(self, x):
            x = self.conv1(x).flatten(2).permute(0, 2, 1)
            cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
            x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
            x = x.permute(1, 0, 2)
            for b in self.blocks:
                x = b(x)
            x = x.permute(1, 0, 2)
            return self.ln_post(x[:, 0, :]) @ self.proj

    model = Vit().eval()
    pixels = torch.randn(2, 3, resolution, resolution)
    with torch.no_grad():
        torch.onnx.export(model, pixels, out_path, input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                          opset_version=17, do_constant_folding=True)
    print(json.dumps({"exported": out_path, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    task, args = sys.argv[1], sys.argv[2:]
    if task == "preprocess":
        preprocess(*args)
    elif task == "gemm":
        gemm(*args)
    elif task == "torch-gemm":
        gemm(*args, use_torch=True)
    elif task == "export-vit":
        export_vit(*args)
    else:
        sys.exit(f"unknown task {task}")
