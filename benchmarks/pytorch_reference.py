#!/usr/bin/env python3
"""The standard benchmark workloads (examples/bench/workloads.rs) in PyTorch, the native
reference for a real GPU: cuDNN with TF32 off, float32, NCHW.

Each workload is timed two ways, both after warm-up:
  * device: CUDA events around the op (the GPU's own time for it);
  * wall:   the op's launch to torch.cuda.synchronize() returning, the same span that
            `cargo run --release --example bench` times for wgcnn (submit to completion).
FLOPs = 2 x multiply-accumulates; bytes = inputs read once + outputs written once (float32),
as in the bench program.

With --network-shapes it times instead the layer shapes of examples/network_shapes.rs (batch 1, no
bias, padding kernel/2), the convolutions of whole networks beyond the standard workloads.

usage: python3 benchmarks/pytorch_reference.py [--runs N] [--json PATH] [--device cuda|cpu]
                                               [--network-shapes]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

# name, input NCHW, out channels, kernel, stride, padding, groups (conv has bias)
CONVOLUTIONS = [
    ("conv3x3_r18", (1, 64, 56, 56), 64, 3, 1, 1, 1),
    ("conv7x7_stem", (1, 3, 224, 224), 64, 7, 2, 3, 1),
    ("conv1x1_proj", (1, 256, 56, 56), 64, 1, 1, 0, 1),
    ("conv1x1_incep", (1, 192, 28, 28), 16, 1, 1, 0, 1),
    ("conv5x5_incep", (1, 16, 28, 28), 32, 5, 1, 2, 1),
    ("conv5x5_naive", (1, 192, 28, 28), 32, 5, 1, 2, 1),
    ("dwconv3x3", (1, 32, 112, 112), 32, 3, 1, 1, 32),
    ("conv3x3_b8", (8, 64, 56, 56), 64, 3, 1, 1, 1),
]


# examples/network_shapes.rs: in channels, out channels, height = width, kernel, stride, groups
NETWORK_SHAPES = [
    (64, 64, 56, 3, 1, 1), (128, 128, 28, 3, 1, 1), (256, 256, 14, 3, 1, 1), (512, 512, 7, 3, 1, 1),
    (64, 128, 56, 3, 2, 1), (128, 256, 28, 3, 2, 1), (256, 512, 14, 3, 2, 1),
    (64, 128, 56, 1, 2, 1), (128, 256, 28, 1, 2, 1), (256, 512, 14, 1, 2, 1),
    (96, 96, 56, 3, 1, 96), (96, 96, 112, 3, 2, 96), (144, 144, 56, 3, 2, 144),
    (192, 192, 28, 3, 2, 192), (576, 576, 14, 3, 2, 576), (192, 192, 28, 3, 1, 192),
    (576, 576, 14, 3, 1, 576), (960, 960, 7, 3, 1, 960), (32, 32, 112, 3, 1, 32),
    (768, 192, 17, 1, 1, 1), (2048, 512, 7, 1, 1, 1), (512, 256, 5, 1, 1, 1), (512, 1000, 1, 1, 1, 1),
]


def network_shapes(device):
    for c, out, size, k, s, g in NETWORK_SHAPES:
        x = torch.full((1, c, size, size), 0.5, device=device)
        weight = torch.full((out, c // g, k, k), 0.01, device=device)
        p = k // 2
        out_size = (size + 2 * p - k) // s + 1
        macs = out * out_size * out_size * (c // g) * k * k
        name = f"{c}->{out} {size}x{size} k{k} s{s} g{g}"
        yield name, ("gflops", 2 * macs), (lambda x=x, weight=weight, s=s, p=p, g=g: F.conv2d(x, weight, None, s, p, 1, g))


def numel(shape):
    count = 1
    for d in shape:
        count *= d
    return count


def workloads(device):
    generator = torch.Generator(device="cpu").manual_seed(2026)

    def randn(*shape, scale=1.0):
        return (torch.randn(*shape, generator=generator) * scale).to(device)

    for name, shape, out, k, s, p, g in CONVOLUTIONS:
        n, c, h, w = shape
        x = randn(*shape)
        weight = randn(out, c // g, k, k, scale=(c // g * k * k) ** -0.5)
        bias = randn(out, scale=0.1)
        out_h = (h + 2 * p - k) // s + 1
        out_w = (w + 2 * p - k) // s + 1
        macs = n * out * out_h * out_w * (c // g) * k * k
        yield name, ("gflops", 2 * macs), (
            lambda x=x, weight=weight, bias=bias, s=s, p=p, g=g: F.conv2d(x, weight, bias, s, p, 1, g)
        )

    x = randn(1, 64, 112, 112)
    yield "maxpool3x3s2", ("gbps", 4 * (numel((1, 64, 112, 112)) + numel((1, 64, 56, 56)))), (
        lambda x=x: F.max_pool2d(x, 3, 2, 1)
    )
    x = randn(1, 64, 56, 56)
    yield "avgpool2x2s2", ("gbps", 4 * (numel((1, 64, 56, 56)) + numel((1, 64, 28, 28)))), (
        lambda x=x: F.avg_pool2d(x, 2, 2)
    )
    x = randn(1, 512, 7, 7)
    yield "gap", ("gbps", 4 * (numel((1, 512, 7, 7)) + 512)), (lambda x=x: F.adaptive_avg_pool2d(x, 1))
    x = randn(1, 64, 112, 112)
    yield "relu", ("gbps", 8 * numel((1, 64, 112, 112))), (lambda x=x: F.relu(x))
    shape = (8, 64, 56, 56)
    x = randn(*shape)
    yield "bn_stats", ("gbps", 4 * (numel(shape) + 3 * 64)), (
        lambda x=x: torch.var_mean(x, dim=(0, 2, 3), correction=0)
    )
    gamma, beta = randn(64, scale=0.1) + 1.0, randn(64, scale=0.1)
    mean, var = randn(64, scale=0.1), randn(64, scale=0.1).abs() + 1.0
    yield "bn_apply", ("gbps", 4 * (2 * numel(shape) + 4 * 64)), (
        lambda x=x: F.batch_norm(x, mean, var, gamma, beta, training=False, eps=1e-5)
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--network-shapes", action="store_true")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version() if cuda else '-'}, "
          f"{name}; TF32 off, cudnn.benchmark on; {args.runs} runs per workload")
    width = 28 if args.network_shapes else 14
    print(f"{'workload':<{width}} {'device ms':>10} {'dev min':>9} {'wall ms':>9} {'rate(dev)':>11} {'rate(wall)':>11}")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    results = []
    with torch.no_grad():
        cases = network_shapes(args.device) if args.network_shapes else workloads(args.device)
        for workload, (unit, work), op in cases:
            for _ in range(5):
                op()
            sync()
            device_ms, wall_ms = [], []
            for _ in range(args.runs):
                if cuda:
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    op()
                    end.record()
                    end.synchronize()
                    device_ms.append(start.elapsed_time(end))
                sync()
                begin = time.perf_counter()
                op()
                sync()
                wall_ms.append((time.perf_counter() - begin) * 1e3)
            if not device_ms:
                device_ms = wall_ms
            row = {
                "name": workload,
                "median_ms": statistics.median(device_ms),
                "min_ms": min(device_ms),
                "wall_median_ms": statistics.median(wall_ms),
                "wall_min_ms": min(wall_ms),
                unit: work / statistics.median(device_ms) / 1e6,
                unit + "_wall": work / statistics.median(wall_ms) / 1e6,
            }
            results.append(row)
            suffix = "GFLOP/s" if unit == "gflops" else "GB/s"
            print(f"{workload:<{width}} {row['median_ms']:>10.4f} {row['min_ms']:>9.4f} {row['wall_median_ms']:>9.4f} "
                  f"{row[unit]:>11.1f} {row[unit + '_wall']:>11.1f} {suffix}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"adapter": {"name": name, "torch": torch.__version__,
                                   "cudnn": torch.backends.cudnn.version() if cuda else None,
                                   "tf32": False},
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
