"""GPU throughput of the estimators against hand-written torch references, in one run.

Every figure is a ratio between variants timed in the same process on the same machine, never
an absolute claim. A ratio ``A/B`` is always a ratio of speeds (images/s, or 1/seconds): above 1,
``A`` is faster. Each variant runs once untimed (warm-up: cuDNN autotuning, ``torch.compile``,
worker start-up paths), then ``--repeats`` times, alternating with the other variants so that
machine noise hits all alike; the best time is kept. On CUDA, timed regions begin and end with
``torch.cuda.synchronize()``.

1. ``codes``: ``CNNCodeExtractor.transform`` of 4,096 random uint8 224x224 images held in memory
   (NCHW), batch 256, last layer, average pooling, for EfficientNet-Lite0 (ImageNet weights) and
   ResNet-50 (random weights: speed does not depend on them). The images are already at the
   networks' size and the extractor is given ``image_size=224``, so its resize and crop are
   no-ops and every variant does the same work: scale, normalise, forward, pool. References run
   a copy of the extractor's fitted network (same weights): (a) a plain fp32 loop, copying each
   batch's codes to the host; (b) a tuned loop, as in torchvision's reference training script:
   pinned memory, non-blocking copies, channels_last, bf16 autocast on CUDA, inference mode,
   codes kept on the device and copied once; (c) the tuned loop under ``torch.compile`` (CUDA
   only). The extractor's new parameters (``precision``, ``compile``) get rows of their own when
   the installed version has them.
2. ``files``: the same for N JPEG files (224 px crops of scikit-learn's sample photographs):
   ``CNNCodeExtractor(num_workers=W).transform(paths)`` (``num_workers`` when the estimator has
   it) against a ``DataLoader`` with W workers decoding with ``torchvision.io`` (``read_file``,
   ``decode_jpeg``), ``pin_memory`` on CUDA, feeding the tuned loop. W = min(8, CPUs). The
   extractor checks each file once per process and remembers the headers of unchanged files,
   so after the warm-up its timed runs find them checked; a row "first check" empties that
   memory before each run, as for files the process has not seen.
3. ``loader``: the data path alone, no network: the batches of ``check_images`` +
   ``ImageSet.loader`` (files checked in this process while the workers decode) against the
   reference ``DataLoader``, with ``--loader-workers`` workers each (default: one core fewer
   than the machine has, left for the calling process); a "first check" row as in ``files``.
4. ``dann``: seconds per epoch of ``DANNClassifier`` on digits -> digits-M (the settings of
   ``bench_dann.py``), on CUDA and on the CPU; the first epoch is the warm-up. Three batch
   sizes: ``bench_dann.py``'s 32, the default ``"auto"`` (64 rows a step on every device) and a
   GPU-sized 256 (``bench_dann_batch.py`` measures what it costs in accuracy).
5. ``finetune``: head-only training, ``FineTuneClassifier(freeze_depth="all")`` against skorch's
   ``NeuralNetClassifier`` with ``Freezer`` on the same network with a new head (the two
   references of ``bench_fine_tune.py``), same data, epochs and optimiser; fit time and test
   accuracy.

Usage: ``python benchmarks/bench_gpu.py [--device cuda|cpu] [--quick] [--only SECTION ...]``
(``--device cpu --quick`` is a smoke run of a few minutes). Prints tables, writes
``benchmarks/results/bench_gpu.json`` (``--out`` to change).
"""

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sklearn
import torch
import torchvision

# Sibling benchmarks (this folder is on the path of a script): their data and references.
from bench_cnn_codes import photos
from bench_dann import NETWORK as DANN_NETWORK
from bench_dann import split as digits_m_split
from bench_fine_tune import ours as fine_tune_ours
from bench_fine_tune import skorch_freezer, warm_up
from bench_fine_tune import split as silhouettes_split
from PIL import Image
from sklearn.base import clone
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.io import ImageReadMode, decode_jpeg, read_file

from sktransfer.domain_adaptation import DANNClassifier
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.utils import _images, check_images, pack_domains

try:
    from tabulate import tabulate
except ImportError:  # a scarce GPU run should not be lost for want of a table formatter
    tabulate = None

RESULTS = Path(__file__).parent / "results" / "bench_gpu.json"
SECTIONS = ("codes", "files", "loader", "dann", "finetune")
BACKBONES = (("efficientnet_lite0", "imagenet"), ("resnet50", None))
SIZE = 224
# Parameters that CNNCodeExtractor gains in another branch; used only when present.
NEW_PARAMS = {
    name: name in CNNCodeExtractor().get_params()
    for name in ("precision", "num_workers", "compile")
}


# --- timing ------------------------------------------------------------------------------------


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_times(runs, repeats, device):
    """Warm every variant up, then time each ``repeats`` times, alternating; best seconds.

    ``runs`` maps a name to a callable. A variant whose warm-up raises (``torch.compile`` on an
    unsupported set-up) is dropped and its error returned instead of a time.
    """
    outputs, skipped = {}, {}
    for name, run in list(runs.items()):
        try:
            outputs[name] = run()
        except Exception as exc:  # report, do not lose the other variants
            skipped[name] = describe(exc)
            print(f"  {name}: skipped ({skipped[name]})", flush=True)
            del runs[name]
        synchronize(device)
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}, outputs, skipped


def describe(exc):
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def rel_diff(a, b):
    """Largest absolute difference between two code matrices, relative to the largest code."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


# --- references --------------------------------------------------------------------------------


class Codes(nn.Module):
    """A backbone up to ``layer``, then average pooling: the module the tuned loop compiles."""

    def __init__(self, backbone, layer):
        super().__init__()
        self.backbone = backbone
        self.layer = layer

    def forward(self, x):
        return self.backbone.features(x, stop=self.layer).mean(dim=(2, 3))


def normalisation(backbone, device):
    mean = torch.tensor(backbone.preprocessing.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(backbone.preprocessing.std, device=device).view(1, -1, 1, 1)
    return mean, std


def plain_codes(backbone, layer, images, batch_size, device):
    """The fp32 loop a user writes first: every batch's codes go back to the host at once."""
    mean, std = normalisation(backbone, device)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start : start + batch_size]).to(device)
            x = (x.float() / 255 - mean) / std
            outputs.append(backbone.features(x, stop=layer).mean(dim=(2, 3)).cpu())
    return torch.cat(outputs).numpy()


def tuned_codes(forward, backbone, batches, device):
    """The tuned loop over uint8 NCHW batches (pinned on CUDA); codes copied to the host once."""
    mean, std = normalisation(backbone, device)
    outputs = []
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"),
    ):
        for batch in batches:
            x = batch.to(device, non_blocking=True)
            x = ((x.float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
            outputs.append(forward(x).float())
    return torch.cat(outputs).cpu().numpy()


def array_batches(images, batch_size, device):
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start : start + batch_size])
        yield batch.pin_memory() if device.type == "cuda" else batch


class JpegFiles(Dataset):
    """JPEG files decoded by torchvision.io into uint8 ``(3, H, W)`` tensors."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return decode_jpeg(read_file(str(self.paths[index])), mode=ImageReadMode.RGB)


def reference_networks(extractor, device):
    """Copies of the extractor's fitted network (same weights): fp32 contiguous, channels_last."""
    backbone = extractor.backbone_
    plain = copy.deepcopy(backbone).to(device, memory_format=torch.contiguous_format).eval()
    tuned = copy.deepcopy(backbone).to(device, memory_format=torch.channels_last).eval()
    return plain, tuned


def compiled(module):
    return torch.compile(module, dynamic=False)


def extractor_variants(params, no_compile):
    """Our extractor's rows: defaults, then each new parameter the installed version has."""
    variants = {"sktransfer": {}}
    if NEW_PARAMS["precision"]:
        variants["sktransfer precision=float32"] = {"precision": "float32"}
    if NEW_PARAMS["compile"] and params["device"].type == "cuda" and not no_compile:
        variants["sktransfer compile=True"] = {"compile": True}
    return {name: {**params, **extra} for name, extra in variants.items()}


def speed_rows(section, backbone, times, outputs, skipped, n_images, reference):
    rows = []
    for name, seconds in times.items():
        rows.append(
            {
                "section": section,
                "backbone": backbone,
                "variant": name,
                "images_per_s": n_images / seconds,
                "seconds": seconds,
                "max_rel_diff": (
                    rel_diff(outputs[name], outputs[reference]) if reference in outputs else None
                ),
            }
        )
    rows += [
        {"section": section, "backbone": backbone, "variant": name, "skipped": reason}
        for name, reason in skipped.items()
    ]
    return rows


def add_ratios(rows, ratios, section, backbone, ours, references):
    """``ratios[section/backbone/ours/ref]``: speed of ``ours`` over speed of ``ref``."""
    speed = {row["variant"]: row["images_per_s"] for row in rows if "images_per_s" in row}
    for mine in ours:
        for ref_name, ref in references.items():
            if mine in speed and ref in speed:
                ratios[f"{section}/{backbone}/{mine}/{ref_name}"] = speed[mine] / speed[ref]


# --- 1. codes of images in memory --------------------------------------------------------------


def codes(args, device, ratios):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(args.n_images, 3, SIZE, SIZE), dtype=np.uint8)
    rows = []
    for name, weights in BACKBONES:
        print(f"codes: {name}", flush=True)
        rows += codes_of(name, weights, images, args, device, ratios)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def codes_of(name, weights, images, args, device, ratios):
    common = {
        "layer": -1,
        "image_size": SIZE,
        "batch_size": args.batch_size,
        "device": device,
        "random_state": 0,
    }
    extractors, failed = {}, {}
    for variant, params in extractor_variants(common, args.no_compile).items():
        try:
            extractors[variant] = CNNCodeExtractor(name, weights, **params).fit(images[:1])
        except Exception as exc:
            if variant == "sktransfer":
                raise
            failed[variant] = describe(exc)
            print(f"  {variant}: skipped ({failed[variant]})", flush=True)
    first = extractors["sktransfer"]
    plain, tuned = reference_networks(first, device)
    layer = first.layer_name_
    forward = Codes(tuned, layer)
    runs = {variant: (lambda e=e: e.transform(images)) for variant, e in extractors.items()}
    runs["plain fp32 loop"] = lambda: plain_codes(plain, layer, images, args.batch_size, device)
    runs["tuned loop"] = lambda: tuned_codes(
        forward, tuned, array_batches(images, args.batch_size, device), device
    )
    if device.type == "cuda" and not args.no_compile:
        forward_compiled = compiled(forward)
        runs["tuned loop + torch.compile"] = lambda: tuned_codes(
            forward_compiled, tuned, array_batches(images, args.batch_size, device), device
        )
    times, outputs, skipped = best_times(runs, args.repeats, device)
    skipped.update(failed)
    rows = speed_rows("codes", name, times, outputs, skipped, len(images), "plain fp32 loop")
    references = {
        "plain": "plain fp32 loop",
        "tuned": "tuned loop",
        "tuned+compile": "tuned loop + torch.compile",
    }
    add_ratios(rows, ratios, "codes", name, extractors, references)
    return rows


# --- 2. codes of JPEG files --------------------------------------------------------------------


def files(args, device, ratios):
    name, weights = BACKBONES[0]
    workers = min(8, os.cpu_count() or 1)
    print(f"files: {name}, {args.n_files} JPEG files, {workers} workers", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        paths = jpeg_files(args.n_files, folder)
        params = {
            "layer": -1,
            "image_size": SIZE,
            "batch_size": args.batch_size,
            "device": device,
        }
        if NEW_PARAMS["num_workers"]:
            params["num_workers"] = workers
        extractor = CNNCodeExtractor(name, weights, **params).fit(
            np.zeros((1, SIZE, SIZE, 3), np.uint8)
        )
        _, tuned = reference_networks(extractor, device)
        forward = Codes(tuned, extractor.layer_name_)

        def reference():
            loader = DataLoader(
                JpegFiles(paths),
                batch_size=args.batch_size,
                num_workers=workers,
                pin_memory=device.type == "cuda",
            )
            return tuned_codes(forward, tuned, loader, device)

        ours_name = "sktransfer" + (
            f" num_workers={workers}" if NEW_PARAMS["num_workers"] else " (no num_workers)"
        )
        runs = {
            ours_name: lambda: extractor.transform(paths),
            f"{ours_name}, first check": lambda: first_check(extractor.transform, paths),
            "DataLoader + tuned loop": reference,
        }
        references = {"dataloader": "DataLoader + tuned loop"}
        if NEW_PARAMS["num_workers"]:
            # Decoding in the calling process, as before num_workers existed.
            serial = clone(extractor).set_params(num_workers=0).fit(paths[:1])
            runs["sktransfer num_workers=0"] = lambda: serial.transform(paths)
            references["serial"] = "sktransfer num_workers=0"
        times, outputs, skipped = best_times(runs, args.repeats, device)
    rows = speed_rows("files", name, times, outputs, skipped, len(paths), "DataLoader + tuned loop")
    add_ratios(rows, ratios, "files", name, [ours_name, f"{ours_name}, first check"], references)
    for row in rows:
        row["workers"] = workers
    return rows


def first_check(function, paths):
    """``function(paths)`` as for files this process has not checked yet."""
    header_cache = getattr(_images, "_header_of_unchanged", None)
    if header_cache is not None:
        header_cache.cache_clear()
    return function(paths)


def jpeg_files(n, folder):
    paths = []
    for i, image in enumerate(photos(n, size=SIZE, seed=1)):
        paths.append(Path(folder) / f"{i:05d}.jpg")
        Image.fromarray(image).save(paths[-1], quality=90)
    return paths


# --- 2b. decoding alone --------------------------------------------------------------------------


def loader(args, device, ratios):
    workers = args.loader_workers
    print(f"loader: {args.n_files} JPEG files, {workers} workers, no network", flush=True)
    pin = device.type == "cuda"
    with tempfile.TemporaryDirectory() as folder:
        paths = jpeg_files(args.n_files, folder)

        def ours():
            images = check_images(paths, num_workers=workers)
            batches = images.loader(args.batch_size, num_workers=workers, pin_memory=pin)
            return sum(len(batch) for batch in batches)

        def reference():
            batches = DataLoader(
                JpegFiles(paths), batch_size=args.batch_size, num_workers=workers, pin_memory=pin
            )
            return sum(len(batch) for batch in batches)

        runs = {
            "check_images + ImageSet.loader": ours,
            "check_images + ImageSet.loader, first check": lambda: first_check(
                lambda _: ours(), paths
            ),
            "DataLoader (decode_jpeg)": reference,
        }
        times, _, skipped = best_times(runs, args.repeats, device)
    rows = speed_rows("loader", "-", times, {}, skipped, len(paths), None)
    add_ratios(rows, ratios, "loader", "jpeg", list(runs)[:2], {"dataloader": list(runs)[2]})
    for row in rows:
        row["workers"] = workers
    return rows


# --- 3. DANN epochs ----------------------------------------------------------------------------


def dann(args, device, ratios):
    Xs, ys, Xt_train, _, X_test, y_test = digits_m_split(0)
    X, y, domains = pack_domains(source=(Xs, ys), target=(Xt_train, None))
    devices = [device] + ([torch.device("cpu")] if device.type == "cuda" else [])
    rows = []
    for batch_size in DANN_BATCH_SIZES:
        for where in devices:
            print(f"dann: {args.dann_epochs} epochs on {where}, batch {batch_size}", flush=True)
            rows.append(dann_epochs(args.dann_epochs, where, batch_size, X, y, domains))
            rows[-1].update(
                accuracy=float(rows[-1].pop("model").score(X_test, y_test)),
                source_rows=int(len(Xs)),
                target_rows=int(len(Xt_train)),
            )
        if len(devices) == 2:
            cuda, cpu = rows[-2], rows[-1]
            ratio = cpu["seconds_per_epoch"] / cuda["seconds_per_epoch"]
            ratios[f"dann/cuda/cpu batch_size={batch_size}"] = ratio
    return rows


# Rows per step: bench_dann.py's 32 (launch-bound on a GPU), the default's 64, a GPU-sized 256.
DANN_BATCH_SIZES = (DANN_NETWORK["batch_size"], "auto", 256)


def dann_epochs(epochs, where, batch_size, X, y, domains):
    params = {**DANN_NETWORK, "device": where.type, "max_epochs": epochs, "batch_size": batch_size}
    clf = DANNClassifier(**params, random_state=0)
    clf.fit(X, y, sample_domain=domains)
    times = [clf.net_.history[e, "dur"] for e in range(epochs)]
    steps = clf.net_.history[-1, "train_batch_count"]
    return {
        "section": "dann",
        "variant": f"DANNClassifier on {where.type}, batch_size={batch_size}",
        "model": clf,
        "seconds_per_epoch": min(times[1:]),
        # Small batches: the time of a step is mostly launches and Python, not arithmetic.
        "ms_per_step": 1000 * min(times[1:]) / steps,
        "first_epoch_s": times[0],
    }


# --- 4. head-only fine-tuning ------------------------------------------------------------------


def finetune(args, device, ratios):
    settings = SimpleNamespace(
        per_class=args.ft_per_class,
        n_test=args.ft_n_test,
        image_size=args.ft_image_size,
        epochs=args.ft_epochs,
        lr=3e-3,
        batch_size=32,
    )
    data = silhouettes_split(settings)
    where = device.type if device.index is None else str(device)
    print(f"finetune: {len(data[0])} images at {settings.image_size} px on {where}", flush=True)
    warm_up(settings, where, data)
    variants = {
        "FineTuneClassifier (cached prefix)": lambda: fine_tune_ours(settings, where, *data),
        "skorch + Freezer": lambda: skorch_freezer(settings, where, *data, keep_eval=False),
        "skorch + Freezer, frozen part in eval": lambda: skorch_freezer(
            settings, where, *data, keep_eval=True
        ),
    }
    results = {name: [] for name in variants}
    for _ in range(args.ft_repeats):
        for name, run in variants.items():
            synchronize(device)
            results[name].append(run())
    rows = []
    for name, runs in results.items():
        rows.append(
            {
                "section": "finetune",
                "variant": name,
                "fit_s": min(seconds for seconds, _ in runs),
                "accuracy": runs[-1][1],
            }
        )
    ours = rows[0]["fit_s"]
    ratios["finetune/ours/skorch+Freezer"] = rows[1]["fit_s"] / ours
    ratios["finetune/ours/skorch+Freezer(eval)"] = rows[2]["fit_s"] / ours
    return rows


# --- report ------------------------------------------------------------------------------------


def table(rows, columns):
    cells = [[row.get(c, "") for c in columns] for row in rows]
    if tabulate is not None:
        return tabulate(cells, headers=columns, floatfmt=".3g")
    lines = [" | ".join(columns)]
    lines += [" | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) for r in cells]
    return "\n".join(lines)


COLUMNS = {
    "codes": ["backbone", "variant", "images_per_s", "max_rel_diff", "skipped"],
    "files": ["backbone", "variant", "workers", "images_per_s", "max_rel_diff", "skipped"],
    "loader": ["variant", "workers", "images_per_s", "skipped"],
    "dann": ["variant", "seconds_per_epoch", "ms_per_step", "first_epoch_s", "accuracy"],
    "finetune": ["variant", "fit_s", "accuracy"],
}


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device):
    info = {
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
        ),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "sklearn": sklearn.__version__,
        "cuda": torch.version.cuda,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "extractor_new_params": NEW_PARAMS,
    }
    if device.type == "cuda":
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run this section (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--n-images", type=int, default=4096, help="images held in memory")
    parser.add_argument("--n-files", type=int, default=4096, help="JPEG files")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--loader-workers",
        type=int,
        default=max(1, min(8, (os.cpu_count() or 2) - 1)),
        help="workers of the loader section (default: one core left for the calling process)",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the torch.compile rows (slow to warm up)"
    )
    parser.add_argument("--dann-epochs", type=int, default=4, help="the first is a warm-up")
    parser.add_argument("--ft-epochs", type=int, default=20)
    parser.add_argument("--ft-per-class", type=int, default=20)
    parser.add_argument("--ft-n-test", type=int, default=300)
    parser.add_argument("--ft-image-size", type=int, default=SIZE)
    parser.add_argument("--ft-repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.n_images, args.n_files, args.batch_size, args.repeats = 16, 16, 8, 2
        args.dann_epochs, args.ft_epochs, args.ft_per_class = 2, 2, 3
        args.ft_n_test, args.ft_image_size, args.ft_repeats = 50, 64, 1
    if args.dann_epochs < 2:
        parser.error("--dann-epochs must be at least 2: the first epoch is the warm-up")
    return args


def main():
    args = parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(
            "bench_gpu.py: --device cuda, but torch sees no CUDA GPU "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). "
            "Run it on a GPU machine, or use --device cpu --quick for a smoke run."
        )
    device = torch.device(args.device)
    sections = [s for s in SECTIONS if s in (args.only or SECTIONS)]
    results, ratios, errors = {}, {}, {}
    runners = {
        "codes": codes,
        "files": files,
        "loader": loader,
        "dann": dann,
        "finetune": finetune,
    }
    for section in sections:
        start = time.perf_counter()
        try:
            results[section] = runners[section](args, device, ratios)
        except Exception:  # one broken section should not lose the others' figures
            errors[section] = traceback.format_exc()
            print(errors[section], file=sys.stderr, flush=True)
        print(f"{section}: {time.perf_counter() - start:.0f} s", flush=True)

    info = machine(device)
    print(f"\n{info['device_name']} ({device}), torch {info['torch']}, best of {args.repeats}")
    for section, rows in results.items():
        print(f"\n{section}\n{table(rows, COLUMNS[section])}")
    print("\nRatios (speed of the first named over the second; > 1: the first is faster)")
    print(table([{"ratio": k, "value": v} for k, v in ratios.items()], ["ratio", "value"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    args.out.write_text(
        json.dumps(
            {
                "machine": info,
                "args": settings,
                "ratios": ratios,
                **results,
                "errors": errors,
            },
            indent=2,
        )
    )
    print(f"\nWrote {args.out}")
    if errors:
        sys.exit(f"bench_gpu.py: sections failed: {', '.join(errors)}")


if __name__ == "__main__":
    main()
