"""Load diffusers' real source (from the local git mirror) on Debian's torch 1.13, for the reference scripts.

This module owns everything needed to run diffusers' own code here without installing it:
  * extracting `src/` of the diffusers git mirror (DIFFUSERS_MIRROR, default
    /work/.mirror/huggingface+diffusers/repo; DIFFUSERS_REF, default HEAD) into a temp dir with `git archive`;
  * fake modules for hub-only libraries, served by a sys.meta_path finder;
  * no-op shims for torch 2.x names that diffusers touches at import time;
  * SD1.5's scheduler config, which both scripts build their schedulers from.

Why the stubs exist: diffusers imports several libraries at module level (huggingface_hub, safetensors,
transformers, accelerate, peft, ...) that are not installed here and that the sampling maths never calls,
and newer diffusers reads torch 2.x attributes (torch.xpu/mps/..., float8 dtypes, torch.compiler,
torch.nn.attention, ...) while building lookup tables at import. The fakes only let the imports succeed;
nothing on the scheduler or SD1.5 sampling path uses them. What was faked is recorded in the fixtures.

Two entry points:
  * load_schedulers()        - schedulers_ref.py: only the scheduler modules; the heavy package
                                __init__ files of `diffusers` and `diffusers.schedulers` are bypassed.
  * load_diffusers(tmpdir)   - parity_fixture.py: the full package (real StableDiffusionPipeline,
                                UNet2DConditionModel, AutoencoderKL), with two one-line source patches.
"""
import atexit
import importlib
import importlib.abc
import importlib.machinery
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types

MIRROR = os.environ.get("DIFFUSERS_MIRROR", "/work/.mirror/huggingface+diffusers/repo")
DIFFUSERS_REF = os.environ.get("DIFFUSERS_REF", "HEAD")

# Faked top-level modules. Faking a root also makes diffusers' `_is_package_available` see it, so each
# entry point fakes only what it needs (the list for schedulers is recorded in fixtures/schedulers).
SCHEDULER_STUB_ROOTS = ("huggingface_hub", "safetensors", "transformers", "accelerate", "peft")
PIPELINE_STUB_ROOTS = SCHEDULER_STUB_ROOTS + ("httpx", "torchvision", "tokenizers", "sentencepiece", "importlib_metadata")

SCHEDULER_MODULES = {
    "DDIMScheduler": "scheduling_ddim",
    "PNDMScheduler": "scheduling_pndm",
    "EulerDiscreteScheduler": "scheduling_euler_discrete",
    "EulerAncestralDiscreteScheduler": "scheduling_euler_ancestral_discrete",
    "DPMSolverMultistepScheduler": "scheduling_dpmsolver_multistep",
    "LCMScheduler": "scheduling_lcm",
}

# Stable Diffusion v1.5's scheduler/scheduler_config.json (runwayml/stable-diffusion-v1-5), + prediction_type
SD15_SCHEDULER_CONFIG = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}


# --------------------------------------------------------------------------------------------
# Fake hub modules
# --------------------------------------------------------------------------------------------
def _identity_decorator(fn=None, *a, **k):
    if callable(fn):
        return fn
    return lambda f: f


class _StubModule(types.ModuleType):
    """Any attribute is a fresh class (usable as base class, exception, isinstance target); a few names get values."""

    _CONSTS = {
        "HF_HOME": os.path.join(tempfile.gettempdir(), "hf-home-unused"),
        "HF_HUB_OFFLINE": True,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "REGEX_COMMIT_HASH": re.compile(r"^[0-9a-f]{40}$"),
        "HUGGINGFACE_CO_RESOLVE_ENDPOINT": "https://huggingface.co",
        "ENDPOINT": "https://huggingface.co",
        "__version__": "0.0.0-stub",
    }
    _FUNCS = {"validate_hf_hub_args": _identity_decorator, "is_jinja_available": lambda: False}

    def __getattr__(self, name):
        if name in self._CONSTS:
            return self._CONSTS[name]
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._FUNCS:
            return self._FUNCS[name]
        cls = type(name, (Exception,), {"__module__": self.__name__})
        setattr(self, name, cls)
        return cls


def _stub_package(name):
    mod = _StubModule(name)
    mod.__path__ = []
    return mod


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = tuple(roots)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _stub_package(spec.name)

    def exec_module(self, module):
        pass


# --------------------------------------------------------------------------------------------
# torch 1.13 shims. Each returns [(name, what)]; callers format the record for their fixture.
# --------------------------------------------------------------------------------------------
def _noop(name):
    if name == "is_available":
        return lambda *a, **k: False
    return lambda *a, **k: 0 if "count" in name else None


class _NoopNamespace(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _noop(name)


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def _shim_device_namespaces():
    """diffusers.utils.torch_utils builds a device->function table from torch.xpu/mps/... at import."""
    import torch

    shims = []
    for ns in ("xpu", "mps", "mtia", "npu"):
        mod = getattr(torch, ns, None)
        if mod is None:
            setattr(torch, ns, _NoopNamespace("torch." + ns))
            shims.append((f"torch.{ns}", "no-op namespace"))
            continue
        for fn in ("empty_cache", "device_count", "manual_seed", "reset_peak_memory_stats", "max_memory_allocated", "synchronize", "is_available"):
            if not hasattr(mod, fn):
                setattr(mod, fn, _noop(fn))
                shims.append((f"torch.{ns}.{fn}", "no-op"))
    return shims


def _shim_torch2_names():
    """torch 2.x names the full package touches at import (lookup tables, annotations, decorators)."""
    import torch
    import torch.distributed as dist

    shims = []
    for dt in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "uint16", "uint32", "uint64"):
        if not hasattr(torch, dt):
            setattr(torch, dt, _Sentinel("torch." + dt))
            shims.append((f"torch.{dt}", "sentinel, never a real tensor dtype here"))
    if not hasattr(dist, "device_mesh"):
        dm = types.ModuleType("torch.distributed.device_mesh")
        dm.DeviceMesh = type("DeviceMesh", (), {})
        dist.device_mesh = dm
        shims.append(("torch.distributed.device_mesh.DeviceMesh", "type-annotation placeholder"))
    if not hasattr(torch, "compiler"):
        comp = types.ModuleType("torch.compiler")
        comp.disable = _identity_decorator
        comp.is_compiling = lambda: False
        comp.is_dynamo_compiling = lambda: False
        torch.compiler = comp
        shims.append(("torch.compiler.{disable (identity), is_compiling (False)}", None))
    # torch submodules imported at module level by diffusers files for other models (flex attention,
    # distributed): placeholder modules whose attributes are dummy classes.
    for modname in ("torch.distributed._functional_collectives", "torch.nn.attention", "torch.nn.attention.flex_attention"):
        try:
            importlib.import_module(modname)
        except ImportError:
            m = _stub_package(modname)
            sys.modules[modname] = m
            parent, _, child = modname.rpartition(".")
            setattr(sys.modules[parent], child, m)
            shims.append((modname, "placeholder module; not on the SD1.5 code path"))
    return shims


# --------------------------------------------------------------------------------------------
# Source
# --------------------------------------------------------------------------------------------
def _git(*args):
    return subprocess.check_output(["git", "-C", MIRROR, *args])


def extract_diffusers(dest):
    """git archive <ref> src -> dest/src; returns (commit, describe, version)."""
    if not os.path.isdir(MIRROR):
        raise SystemExit(
            f"diffusers git mirror not found at {MIRROR}. Set DIFFUSERS_MIRROR to a clone of "
            "https://github.com/huggingface/diffusers (bare or normal)."
        )
    commit = _git("rev-parse", DIFFUSERS_REF + "^{commit}").decode().strip()
    with tarfile.open(fileobj=io.BytesIO(_git("archive", commit, "src"))) as tf:
        tf.extractall(dest)
    try:
        describe = _git("describe", "--tags", commit).decode().strip()
    except subprocess.CalledProcessError:
        describe = None
    init_text = open(os.path.join(dest, "src", "diffusers", "__init__.py")).read()
    version = re.search(r'__version__\s*=\s*"([^"]+)"', init_text).group(1)
    return commit, describe, version


def patch_diffusers(src_dir):
    """Two one-line source patches the full package needs here. Returns their descriptions."""
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


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------
def load_schedulers():
    """Scheduler modules only. Returns ({class name: class}, {class name: module}, provenance dict)."""
    import torch

    tmp = tempfile.mkdtemp(prefix="sched-diffusers-")
    atexit.register(shutil.rmtree, tmp, True)  # modules are loaded by then; the source copy is disposable
    commit, describe, version = extract_diffusers(tmp)
    pkg_root = os.path.join(tmp, "src", "diffusers")
    sys.meta_path.insert(0, _StubFinder(SCHEDULER_STUB_ROOTS))
    shims = [f"{name}: {what}" for name, what in _shim_device_namespaces()]
    # Empty placeholder packages, so the heavy diffusers/__init__.py and schedulers/__init__.py are skipped.
    for name, path in (("diffusers", pkg_root), ("diffusers.schedulers", os.path.join(pkg_root, "schedulers"))):
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        mod.__version__ = version
        sys.modules[name] = mod
    # utils must be initialised before configuration_utils (the real package __init__ does this first).
    importlib.import_module("diffusers.utils")
    classes, modules = {}, {}
    for cls_name, mod_name in SCHEDULER_MODULES.items():
        mod = importlib.import_module("diffusers.schedulers." + mod_name)
        modules[cls_name] = mod
        classes[cls_name] = getattr(mod, cls_name)
        # from_config looks compatible classes up on the top-level package.
        setattr(sys.modules["diffusers"], cls_name, classes[cls_name])
    provenance = {
        "commit": commit,
        "describe": describe,
        "version": version,
        "torch": torch.__version__,
        "stubs": list(SCHEDULER_STUB_ROOTS) + shims + ["diffusers/__init__.py and diffusers/schedulers/__init__.py bypassed"],
    }
    return classes, modules, provenance


def load_diffusers(tmpdir):
    """The full diffusers package, extracted and patched under tmpdir. Returns (diffusers, info dict)."""
    commit, describe, _ = extract_diffusers(tmpdir)
    src = os.path.join(tmpdir, "src")
    patches = patch_diffusers(src)
    shims = _shim_device_namespaces() + _shim_torch2_names()
    patches += [name if what is None else f"{name} ({what})" for name, what in shims]
    sys.meta_path.insert(0, _StubFinder(PIPELINE_STUB_ROOTS))
    sys.path.insert(0, src)
    import diffusers  # noqa

    return diffusers, {"commit": commit, "describe": describe, "version": diffusers.__version__, "patches": patches}
