"""CNNCodeExtractor against a plain torch loop, and peak memory of file-path input.

1. Throughput: ``CNNCodeExtractor.transform`` against a hand-written torch loop over the same
   network (EfficientNet-Lite0, ImageNet weights), batch size, input (uint8 images) and work
   (scale, resize, normalise, forward to the last layer, average pooling), alternated in one run
   so that machine noise hits both alike; the ratio is what matters.
2. Memory: peak resident memory of ``transform`` for N images given as JPEG file paths against
   the same images held in memory, for several N, each run in a fresh process.

Usage: ``python benchmarks/bench_cnn_codes.py [--quick]``. Prints tables, writes
``benchmarks/results/bench_cnn_codes.json``.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_images

from sktransfer.backbones import load_backbone
from sktransfer.feature_extraction import CNNCodeExtractor

RESULTS = Path(__file__).parent / "results" / "bench_cnn_codes.json"


def photos(n, size=256, seed=0):
    """``n`` random crops of scikit-learn's two sample photographs, as uint8 NHWC."""
    rng = np.random.default_rng(seed)
    sources = load_sample_images().images
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        image = sources[i % len(sources)]
        top = rng.integers(0, image.shape[0] - size)
        left = rng.integers(0, image.shape[1] - size)
        out[i] = image[top : top + size, left : left + size]
    return out


def plain_torch_codes(model, images, batch_size, image_size, device, fast):
    """The loop a user would write by hand; ``fast`` adds channels_last and autocast on CUDA."""
    mean = torch.tensor([0.5, 0.5, 0.5], device=device).view(1, 3, 1, 1)
    outputs = []
    if fast:
        model = model.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[start : start + batch_size]).to(device)
            x = batch.permute(0, 3, 1, 2).float() / 255
            x = torch.nn.functional.interpolate(
                x, size=(image_size, image_size), mode="bicubic", antialias=True
            )
            x = (x - mean) / 0.5
            if fast:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=fast and device == "cuda"):
                codes = model.features(x).mean(dim=(2, 3))
            outputs.append(codes.float().cpu())
    return torch.cat(outputs).numpy()


def throughput(args, device):
    images = photos(args.n_images)
    extractor = CNNCodeExtractor(
        "efficientnet_lite0",
        "imagenet",
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=device,
    ).fit(images[:1])
    model = load_backbone("efficientnet_lite0", "imagenet").eval().to(device)
    runs = {
        "sktransfer": lambda: extractor.transform(images),
        "plain torch (fp32)": lambda: plain_torch_codes(
            model, images, args.batch_size, args.image_size, device, fast=False
        ),
    }
    if device == "cuda":
        runs["plain torch (channels_last+autocast)"] = lambda: plain_torch_codes(
            model, images, args.batch_size, args.image_size, device, fast=True
        )
    np.testing.assert_allclose(
        runs["sktransfer"](), runs["plain torch (fp32)"](), atol=5e-2 if device == "cuda" else 1e-3
    )
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():  # alternate, so noise hits every variant alike
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "variant": name,
                "device": device,
                "seconds": median,
                "images_per_s": args.n_images / median,
            }
        )
    reference = rows[1]["images_per_s"]
    for row in rows:
        row["ratio_to_plain_fp32"] = row["images_per_s"] / reference
    return rows


_MEMORY_CHILD = """
import sys, numpy as np
from pathlib import Path
from sktransfer.feature_extraction import CNNCodeExtractor
kind, folder, n, size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
paths = sorted(folder.glob("*.jpg"))[:n]
extractor = CNNCodeExtractor("efficientnet_lite0", "imagenet", image_size=size, batch_size=32,
                             device="cpu").fit(np.zeros((1, 8, 8, 3), np.uint8))
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
baseline = rss("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current size
if kind == "paths":
    codes = extractor.transform(paths)
else:
    from PIL import Image
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    codes = extractor.transform(images)
print(rss("VmHWM") - baseline, codes.shape[0])
"""


def memory(args):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i, image in enumerate(photos(max(args.memory_sizes), size=args.photo_size, seed=1)):
            Image.fromarray(image).save(Path(folder) / f"{i:05d}.jpg", quality=90)
        for n in args.memory_sizes:
            for kind in ("paths", "in memory"):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _MEMORY_CHILD,
                        "paths" if kind == "paths" else "array",
                        folder,
                        str(n),
                        str(args.image_size),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                rows.append({"input": kind, "n_images": n, "peak_extra_mib": float(out[0])})
    return rows


def print_table(rows, columns):
    print(" | ".join(f"{c:>22}" for c in columns))
    for row in rows:
        cells = [
            f"{row[c]:>22.3f}" if isinstance(row[c], float) else f"{row[c]!s:>22}" for c in columns
        ]
        print(" | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--photo-size", type=int, default=256)
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--memory-image-size", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.n_images, args.repeats, args.memory_sizes = 32, 1, [20, 40]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    speed = [row for device in devices for row in throughput(args, device)]
    print(
        f"\nThroughput, EfficientNet-Lite0 codes, {args.n_images} images at {args.image_size} "
        f"px, batch {args.batch_size}, median of {args.repeats}"
    )
    print_table(speed, ["variant", "device", "images_per_s", "ratio_to_plain_fp32"])
    mem = memory(args)
    print(
        f"\nPeak extra resident memory of transform ({args.photo_size} px JPEGs, codes at "
        f"{args.memory_image_size} px)"
    )
    print_table(mem, ["input", "n_images", "peak_extra_mib"])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                    "cuda": torch.cuda.is_available(),
                },
                "args": vars(args),
                "throughput": speed,
                "memory": mem,
            },
            indent=2,
        )
    )
    print(f"\nWrote {RESULTS}")


if __name__ == "__main__":
    main()
