"""Load transformers' real source (from a local git mirror) on Debian's torch 1.13, for the Qwen2 fixture.

This module owns getting `transformers` importable here without installing it (pip is unreachable and Debian
bookworm has no python3-transformers):
  * `git archive <commit> src/transformers` of a transformers git mirror (TRANSFORMERS_MIRROR; any clone whose
    history contains TRANSFORMERS_COMMIT — upstream huggingface/transformers, or a fork of it) into a temp dir;
  * fake modules for the hub-only libraries transformers imports at module level (huggingface_hub, safetensors)
    and for `tokenizers` (imported by integrations/ggml.py, GGUF conversion only; without dist metadata transformers
    still reports it unavailable, so the slow tokenizers are used), served by diffusers_env's meta-path finder with
    a few extra names (cache paths inside the temp dir, so nothing is read from or written to ~/.cache;
    `_deprecate_method` as an identity decorator);
  * two source patches: dependency_versions_check.py skips the version check of the faked huggingface-hub and
    safetensors; the pure-Python AddedToken (used when the Rust tokenizers library is absent) gets the __hash__ and
    __setstate__ that the slow-tokenizer code relies on.
Nothing on the Qwen2 forward pass, Qwen2Tokenizer or apply_chat_template path touches the fakes (no hub download
happens: every object is built from local files or in memory). What was faked is recorded in the fixture.

The default commit is main at the v4.45 release cut (2024-09-25, `__version__ = "4.45.0.dev0"`; the next commit,
f0eabf6, bumps main to 4.46.0.dev0): the last line of releases whose setup.py still accepted torch >= 1.11
(torch >= 2 became required on 2025-01-08, #35479), so it runs on Debian's torch 1.13 without torch shims.
"""
import io
import os
import re
import subprocess
import sys
import tarfile

import diffusers_env as _de

TRANSFORMERS_MIRROR = os.environ.get("TRANSFORMERS_MIRROR", "/work/.mirror/Gaohang0804+transformers/repo")
TRANSFORMERS_COMMIT = os.environ.get("TRANSFORMERS_COMMIT", "a55adee890b0757461e1588d8847fd385ce5c214")
STUB_ROOTS = ("huggingface_hub", "safetensors", "tokenizers")


def _deprecation_decorator(*args, **kwargs):
    """huggingface_hub's `_deprecate_method(version=..., message=...)` as a no-op decorator factory."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


def _stub_finder(home):
    class _HubStub(_de._StubModule):
        _CONSTS = dict(_de._StubModule._CONSTS, HF_HOME=home, HF_HUB_CACHE=os.path.join(home, "hub"),
                       default_cache_path=os.path.join(home, "hub"))
        _FUNCS = dict(_de._StubModule._FUNCS, _deprecate_method=_deprecation_decorator)

    class _Finder(_de._StubFinder):
        def create_module(self, spec):
            mod = _HubStub(spec.name)
            mod.__path__ = []
            return mod

    return _Finder(STUB_ROOTS)


def _git(*args):
    return subprocess.check_output(["git", "-C", TRANSFORMERS_MIRROR, *args])


def extract_transformers(dest):
    """git archive <commit> src/transformers -> dest/src; returns (commit, version)."""
    if not os.path.isdir(TRANSFORMERS_MIRROR):
        raise SystemExit(
            f"transformers git mirror not found at {TRANSFORMERS_MIRROR}. Set TRANSFORMERS_MIRROR to a clone "
            f"(bare or normal) of https://github.com/huggingface/transformers containing {TRANSFORMERS_COMMIT}."
        )
    commit = _git("rev-parse", TRANSFORMERS_COMMIT + "^{commit}").decode().strip()
    with tarfile.open(fileobj=io.BytesIO(_git("archive", commit, "src/transformers"))) as tf:
        tf.extractall(dest)
    init_text = open(os.path.join(dest, "src", "transformers", "__init__.py")).read()
    version = re.search(r'__version__\s*=\s*"([^"]+)"', init_text).group(1)
    return commit, version


def _patch(src_dir):
    patches = []
    rel = "transformers/dependency_versions_check.py"
    path = os.path.join(src_dir, rel)
    text = open(path).read()
    old = '    "huggingface-hub",\n    "safetensors",\n'
    if old not in text:
        raise SystemExit(f"patch target not found in {rel} (transformers version changed?)")
    open(path, "w").write(text.replace(old, ""))
    patches.append(f"{rel}: no version check for huggingface-hub and safetensors (faked modules, no dist metadata)")

    # Without the Rust `tokenizers` library, tokenization_utils_base.py defines a pure-Python AddedToken. The slow
    # tokenizer code uses it as the Rust class allows: as a dict/set member (hash) and with __setstate__ (to mark a
    # token special). The fallback has neither (transformers always installs `tokenizers`, so nobody runs it).
    # Added with the Rust class's meaning: hash of the token, state update from a dict.
    rel = "transformers/tokenization_utils_base.py"
    path = os.path.join(src_dir, rel)
    text = open(path).read()
    old = "        def __getstate__(self):\n            return self.__dict__\n\n        def __str__(self):\n            return self.content\n"
    if text.count(old) != 1:
        raise SystemExit(f"patch target not found in {rel} (transformers version changed?)")
    new = old + (
        "\n        def __setstate__(self, state):  # qwen2 fixture: as tokenizers.AddedToken\n"
        "            self.__dict__.update(state)\n"
        "\n        def __hash__(self):  # qwen2 fixture: as tokenizers.AddedToken\n"
        "            return hash(self.content)\n"
    )
    open(path, "w").write(text.replace(old, new))
    patches.append(f"{rel}: the pure-Python AddedToken fallback (no Rust tokenizers) gets __setstate__ and __hash__, "
                   "which tokenization_utils.py uses")
    return patches


def load_transformers(tmpdir):
    """The transformers package, extracted under tmpdir and imported. Returns (transformers, provenance dict)."""
    import torch

    commit, version = extract_transformers(tmpdir)
    src = os.path.join(tmpdir, "src")
    patches = _patch(src)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    sys.meta_path.insert(0, _stub_finder(os.path.join(tmpdir, "hf-home")))
    sys.path.insert(0, src)
    import transformers

    if transformers.__version__ != version:
        raise SystemExit(f"imported transformers {transformers.__version__}, expected the extracted {version}")
    return transformers, {
        "commit": commit,
        "version": version,
        "torch": torch.__version__,
        "faked_modules": list(STUB_ROOTS),
        "patches": patches,
    }
