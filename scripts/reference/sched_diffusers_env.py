"""Import diffusers' real scheduler modules on Debian's torch 1.13 (helper for schedulers_ref.py).

Why this exists: diffusers' package __init__ pulls in the whole library plus hub-only dependencies
(huggingface_hub, safetensors, transformers, ...) that are not installed here and that scheduler math
never touches. We extract the diffusers source from the local git mirror into a temp dir, register
empty placeholder packages for `diffusers` and `diffusers.schedulers` (so their heavy __init__ files are
skipped), fake the missing hub modules, add no-op `torch.xpu`-style namespaces that newer diffusers
reads at import time, and then import the scheduler modules themselves unmodified.
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
REF = os.environ.get("DIFFUSERS_REF", "HEAD")

# Modules that diffusers imports at module level but that scheduler code never calls.
FAKE_ROOTS = ("huggingface_hub", "safetensors", "transformers", "accelerate", "peft")

SCHEDULER_MODULES = {
    "DDIMScheduler": "scheduling_ddim",
    "PNDMScheduler": "scheduling_pndm",
    "EulerDiscreteScheduler": "scheduling_euler_discrete",
    "EulerAncestralDiscreteScheduler": "scheduling_euler_ancestral_discrete",
    "DPMSolverMultistepScheduler": "scheduling_dpmsolver_multistep",
    "LCMScheduler": "scheduling_lcm",
}


class _FakeModule(types.ModuleType):
    """Every attribute is a fresh exception-derived class; a few names get useful values."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "HF_HOME":
            return os.path.join(tempfile.gettempdir(), "hf-home-unused")
        if name == "validate_hf_hub_args":
            return lambda fn: fn
        cls = type(name, (Exception,), {"__module__": self.__name__})
        setattr(self, name, cls)
        return cls


class _FakeFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in FAKE_ROOTS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        mod = _FakeModule(spec.name)
        mod.__path__ = []
        return mod

    def exec_module(self, module):
        pass


class _NoopNamespace(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None


def _shim_torch():
    """diffusers.utils.torch_utils builds a device->function table from torch.xpu/mps/... at import."""
    import torch

    shims = []
    for ns in ("xpu", "mps", "mtia", "npu"):
        mod = getattr(torch, ns, None)
        if mod is None:
            setattr(torch, ns, _NoopNamespace("torch." + ns))
            shims.append(f"torch.{ns}: no-op namespace")
            continue
        for fn in ("empty_cache", "device_count", "manual_seed", "synchronize", "reset_peak_memory_stats", "max_memory_allocated"):
            if not hasattr(mod, fn):
                setattr(mod, fn, lambda *a, **k: None)
                shims.append(f"torch.{ns}.{fn}: no-op")
    return shims


def _extract(dest):
    commit = subprocess.check_output(["git", "-C", MIRROR, "rev-parse", REF + "^{commit}"], text=True).strip()
    data = subprocess.check_output(["git", "-C", MIRROR, "archive", commit, "src/diffusers"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(dest)
    try:
        describe = subprocess.check_output(["git", "-C", MIRROR, "describe", "--tags", commit], text=True).strip()
    except subprocess.CalledProcessError:
        describe = None
    init_text = open(os.path.join(dest, "src", "diffusers", "__init__.py")).read()
    version = re.search(r'__version__\s*=\s*"([^"]+)"', init_text).group(1)
    return commit, describe, version


def load_schedulers():
    """Returns ({class name: class}, {class name: module}, provenance dict)."""
    import torch

    tmp = tempfile.mkdtemp(prefix="sched-diffusers-")
    atexit.register(shutil.rmtree, tmp, True)  # modules are loaded by then; the source copy is disposable
    commit, describe, version = _extract(tmp)
    pkg_root = os.path.join(tmp, "src", "diffusers")
    sys.meta_path.insert(0, _FakeFinder())
    shims = _shim_torch()
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
        "stubs": list(FAKE_ROOTS) + shims + ["diffusers/__init__.py and diffusers/schedulers/__init__.py bypassed"],
    }
    return classes, modules, provenance
