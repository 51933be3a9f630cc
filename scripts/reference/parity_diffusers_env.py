"""Load diffusers' real source (from the local git mirror) on Debian's torch 1.13.

diffusers imports several hub-only libraries (huggingface_hub, safetensors,
transformers, accelerate, ...) that are not installed here and that the
pipeline math never touches. We register small fake modules for them in
sys.modules before importing diffusers. Only the sampling code path
(StableDiffusionPipeline.__call__, schedulers, UNet2DConditionModel,
AutoencoderKL) is exercised.
"""
import importlib
import importlib.abc
import importlib.machinery
import os
import subprocess
import sys
import tarfile
import io
import types

MIRROR = os.environ.get("DIFFUSERS_MIRROR", "/work/.mirror/huggingface+diffusers/repo")
DIFFUSERS_REF = os.environ.get("DIFFUSERS_REF", "HEAD")

STUB_ROOTS = ("huggingface_hub", "httpx", "safetensors", "transformers", "accelerate", "peft", "torchvision", "tokenizers", "sentencepiece", "importlib_metadata")


def _identity_decorator(fn=None, *a, **k):
    if callable(fn):
        return fn
    return lambda f: f


class _StubModule(types.ModuleType):
    """Any attribute is a fresh class (usable as base class, exception, isinstance target)."""

    _CONSTS = {
        "HF_HOME": os.path.join(os.path.expanduser("~"), ".cache", "huggingface"),
        "HF_HUB_OFFLINE": True,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "REGEX_COMMIT_HASH": __import__("re").compile(r"^[0-9a-f]{40}$"),
        "HUGGINGFACE_CO_RESOLVE_ENDPOINT": "https://huggingface.co",
        "ENDPOINT": "https://huggingface.co",
        "__version__": "0.0.0-stub",
    }
    _FUNCS = {"validate_hf_hub_args": _identity_decorator, "is_jinja_available": lambda: False}

    def __getattr__(self, name):
        if name.startswith("__") and name not in self._CONSTS:
            raise AttributeError(name)
        if name in self._CONSTS:
            return self._CONSTS[name]
        if name in self._FUNCS:
            return self._FUNCS[name]
        cls = type(name, (Exception,), {"__module__": self.__name__})
        setattr(self, name, cls)
        return cls


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in STUB_ROOTS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _StubModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def extract_diffusers(dest):
    """git archive <ref> src  ->  dest/src ; returns (commit, describe)."""
    if not os.path.isdir(MIRROR):
        raise SystemExit(
            f"diffusers git mirror not found at {MIRROR}. Set DIFFUSERS_MIRROR to a clone of "
            "https://github.com/huggingface/diffusers (bare or normal)."
        )
    commit = subprocess.check_output(["git", "-C", MIRROR, "rev-parse", DIFFUSERS_REF + "^{commit}"], text=True).strip()
    data = subprocess.check_output(["git", "-C", MIRROR, "archive", commit, "src"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(dest)
    try:
        describe = subprocess.check_output(["git", "-C", MIRROR, "describe", "--tags", commit], text=True).strip()
    except subprocess.CalledProcessError:
        describe = None
    return commit, describe


def patch_diffusers(src_dir):
    """Small source patches needed for torch 1.13. Returns list of descriptions."""
    patches = []

    def sub(rel, old, new, why):
        path = os.path.join(src_dir, rel)
        text = open(path).read()
        if old not in text:
            raise SystemExit(f"patch target not found in {rel}: {old!r} (diffusers version changed?)")
        open(path, "w").write(text.replace(old, new))
        patches.append(f"{rel}: {why}")

    # The stub 'transformers' module only needs to satisfy `from transformers import CLIP...`;
    # pretend it is installed so StableDiffusionPipeline is the real class, not a dummy object.
    sub(
        "diffusers/utils/import_utils.py",
        '_transformers_available, _transformers_version = _is_package_available("transformers")',
        '_transformers_available, _transformers_version = True, "4.99.0"  # parity fixture: stubbed',
        "pretend transformers is installed (stub module; the pipeline gets prompt_embeds directly)",
    )
    sub(
        "diffusers/utils/constants.py",
        'version.parse(importlib.metadata.version("transformers")).base_version',
        '"4.99.0"',
        "no transformers dist metadata (stub); PEFT backend stays off since peft is absent",
    )
    return patches


class _NoopNamespace(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: 0 if "count" in name else None


def shim_torch():
    """Add device namespaces newer diffusers references at import time (never used on CPU)."""
    import torch

    shims = []
    for ns in ("xpu", "mps", "mtia", "npu"):
        mod = getattr(torch, ns, None)
        if mod is None:
            setattr(torch, ns, _NoopNamespace("torch." + ns))
            shims.append(f"torch.{ns} (no-op namespace)")
        else:
            for fn in ("empty_cache", "device_count", "manual_seed", "reset_peak_memory_stats", "max_memory_allocated", "synchronize", "is_available"):
                if not hasattr(mod, fn):
                    setattr(mod, fn, (lambda *a, **k: False) if fn == "is_available" else (lambda *a, **k: 0 if "count" in fn else None))
                    shims.append(f"torch.{ns}.{fn} (no-op)")
    # dtypes that only exist in newer torch; diffusers lists them in lookup tables at import time.
    for dt in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "uint16", "uint32", "uint64"):
        if not hasattr(torch, dt):
            setattr(torch, dt, _Sentinel("torch." + dt))
            shims.append(f"torch.{dt} (sentinel, never a real tensor dtype here)")
    import torch.distributed as dist

    if not hasattr(dist, "device_mesh"):
        dm = types.ModuleType("torch.distributed.device_mesh")
        dm.DeviceMesh = type("DeviceMesh", (), {})
        dist.device_mesh = dm
        shims.append("torch.distributed.device_mesh.DeviceMesh (type-annotation placeholder)")
    if not hasattr(torch, "compiler"):
        comp = types.ModuleType("torch.compiler")
        comp.disable = _identity_decorator
        comp.is_compiling = lambda: False
        comp.is_dynamo_compiling = lambda: False
        torch.compiler = comp
        shims.append("torch.compiler.{disable (identity), is_compiling (False)}")
    # torch submodules that only exist in torch 2.x; imported at module level by diffusers files for
    # other models (flex attention, distributed). Placeholder modules whose attributes are dummy classes.
    for modname in ("torch.distributed._functional_collectives", "torch.nn.attention", "torch.nn.attention.flex_attention"):
        try:
            importlib.import_module(modname)
        except ImportError:
            m = _StubModule(modname)
            m.__path__ = []
            sys.modules[modname] = m
            parent, _, child = modname.rpartition(".")
            setattr(sys.modules[parent], child, m)
            shims.append(f"{modname} (placeholder module; not on the SD1.5 code path)")
    return shims


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def load_diffusers(tmpdir):
    commit, describe = extract_diffusers(tmpdir)
    src = os.path.join(tmpdir, "src")
    patches = patch_diffusers(src)
    patches += shim_torch()
    sys.meta_path.insert(0, _StubFinder())
    sys.path.insert(0, src)
    import diffusers  # noqa

    return diffusers, {"commit": commit, "describe": describe, "version": diffusers.__version__, "patches": patches}
