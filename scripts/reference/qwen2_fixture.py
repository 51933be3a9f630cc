#!/usr/bin/env python3
"""Embedding-parity fixture for psa-web's profile encoder (fixtures/profile-encoder/).

Proves that psa-web computes a PSA user embedding the way PSAlign's `data/user_data/num_1k/get_embeds.py` did:
  * a tiny Qwen2 made by transformers' own Qwen2ForCausalLM (real source, see transformers_env.py; seeded fp32
    weights), saved with `save_pretrained` and loaded back by PSAlign's code path (`AutoModelForCausalLM`);
  * a Qwen-style byte-level BPE tokenizer: vocab.json + merges.txt learned here from PSA's own template texts and
    read by transformers' slow `Qwen2Tokenizer`; `tokenizer.json` (Hugging Face tokenizers format, for
    transformers.js) describes the same tokenizer — the fixture proves it when the TypeScript side reproduces the ids;
  * Qwen2.5-Instruct's real chat template (default system message "You are Qwen, created by Alibaba Cloud. ...");
  * PSAlign's own `generate_user_embeddings` (get_embeds.py, loaded from the PSAlign git mirror; one patch:
    no `device_map="auto"`, which needs accelerate) run on PSAlign's users.csv and get_embeds.txt, read with pandas:
    per user the rendered text, the chat text, the ids and the masked-mean embedding;
  * the model exported to ONNX (Optimum / transformers.js feature-extraction layout) with torch.onnx.export.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/reference/qwen2_fixture.py
Then: node scripts/reference/qwen2_check_onnx.mjs   (onnxruntime-node vs torch)
Deterministic: a rerun rewrites byte-identical files.
"""
import csv
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "fixtures", "profile-encoder")
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import transformers_env  # noqa: E402

PSALIGN_MIRROR = os.environ.get("PSALIGN_MIRROR", "/work/.mirror/M-E-AGI-Lab+PSAlign/repo")
PSALIGN_REF = os.environ.get("PSALIGN_REF", "HEAD")
PSA_DIR = "data/user_data/num_1k"

# User_ID = 1-based row of users.csv (get_embeds.py saves row idx as f"{idx+1:07d}.npy").
# 1001, 797, 697, 2, 742, 501 are PSA's reference users for safety levels 0..5 (evaluation/gen_psa.py);
# 3 has religion "None" (so does 1001); 1 is the first row.
USER_IDS = [1, 2, 3, 501, 697, 742, 797, 1001]

NUM_MERGES = 400
SEED = 20250801
ONNX_OPSET = 17

# Qwen2.5-Instruct's chat_template: the `chat_template` string of Qwen/Qwen2.5-0.5B-Instruct's tokenizer_config.json
# (hub commit 7ae557604adf67be50417f59c2c2f167def9a775, line 198), as vendored verbatim with that citation in
# guidance-ai/guidance `guidance/chat.py` (`qwen2dot5_it_template`); huggingface/swift-jinja's
# Tests/JinjaTests/IntegrationTests.swift has the same text minus the final newline. The Qwen2.5-Instruct sizes
# (0.5B ... 72B, 7B included) ship this one template. Stored as the JSON string literal, decoded with json.loads.
QWEN25_CHAT_TEMPLATE = json.loads(open(os.path.join(HERE, "qwen25_chat_template.json"), encoding="utf-8").read())

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Tiny Qwen2 config (Qwen2.5-7B-Instruct's shape rules at toy size; hidden_act silu, rope_theta 1e6, eps 1e-6,
# GQA 4 query heads / 2 KV heads, q/k/v biases, untied lm_head).
TINY = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    rms_norm_eps=1e-06,
    hidden_act="silu",
    tie_word_embeddings=False,
    use_sliding_window=False,
    sliding_window=None,
    max_window_layers=2,
    attention_dropout=0.0,
    # Larger than transformers' 0.02 default so attention logits are O(1): with hidden 32 the default would make
    # every layer a near-identity and the fixture blind to mask, RoPE or GQA mistakes.
    initializer_range=0.25,
    use_cache=True,
    torch_dtype="float32",
)


def git_show(path):
    return subprocess.check_output(["git", "-C", PSALIGN_MIRROR, "show", f"{PSALIGN_REF}:{path}"])


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------
def learn_merges(texts, pattern, byte_encoder, n_merges):
    """Byte-level BPE training on the pre-tokenized words of `texts` (most frequent pair first; ties by pair)."""
    words = Counter()
    for text in texts:
        for piece in pattern.findall(text):
            words[tuple(byte_encoder[b] for b in piece.encode("utf-8"))] += 1
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for pair in zip(w, w[1:]):
                pairs[pair] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        new_words = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    return merges


def tokenizer_json(vocab, merges, regex_pattern, added):
    """The Hugging Face `tokenizers` description of Qwen2's fast tokenizer (the layout of Qwen2.5's tokenizer.json)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for t, i in added
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": regex_pattern}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def tokenizer_config(added):
    """tokenizer_config.json in Qwen2.5-Instruct's form (same keys and special-token roles; our ids)."""
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
            for t, i in added
        },
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": QWEN25_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def dump_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


# --------------------------------------------------------------------------------------------
# PSAlign's get_embeds.py
# --------------------------------------------------------------------------------------------
def load_get_embeds(tmp):
    """PSAlign's get_embeds.py as a module, with two loading patches (recorded in expected.json):
    `device_map="auto"` dropped (needs accelerate; we run on CPU) and `use_fast=False` (the fast Qwen2TokenizerFast
    needs the Rust `tokenizers` library, absent here; PSA ran the fast one, built from tokenizer.json — that
    tokenizer.json gives the same ids is what the TypeScript test proves)."""
    src = git_show(f"{PSA_DIR}/get_embeds.py").decode("utf-8")
    old = 'AutoModelForCausalLM.from_pretrained(model_name, torch_dtype="auto", device_map="auto")'
    if src.count(old) != 1:
        raise SystemExit("get_embeds.py changed: model loading line not found")
    src = src.replace(old, 'AutoModelForCausalLM.from_pretrained(model_name, torch_dtype="auto")')
    old = 'AutoTokenizer.from_pretrained(model_name, padding_side="left")'
    if src.count(old) != 1:
        raise SystemExit("get_embeds.py changed: tokenizer loading line not found")
    src = src.replace(old, 'AutoTokenizer.from_pretrained(model_name, padding_side="left", use_fast=False)')
    path = os.path.join(tmp, "psalign_get_embeds.py")
    open(path, "w", encoding="utf-8").write(src)
    spec = importlib.util.spec_from_file_location("psalign_get_embeds", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.tqdm = lambda it, **kwargs: it  # no progress bar (display only)
    return mod, sha256(src.encode("utf-8"))


def render_like_get_embeds(template, row):
    """get_embeds.py's rendering, for the texts stored in the fixture (checked against its run below)."""
    return (
        template.replace("<<AGE>>", str(row["Age"]))
        .replace("<<AGE_GROUP>>", str(row["Age_Group"]))
        .replace("<<GENDER>>", str(row["Gender"]))
        .replace("<<RELIGION>>", str(row["Religion"]))
        .replace("<<MENTAL>>", str(row["Mental_Condition"]))
        .replace("<<PHYSICAL>>", str(row["Physical_Condition"]))
        .replace("<<BANNED>>", str(row["Banned_Categories"]))
        .replace("<<ALLOWED>>", str(row["Allowed_Categories"]))
    )


def pandas_like_psa(pd):
    """PSA pinned pandas 2.2.1, whose read_csv counts the string "None" as missing (added to the default NA strings
    in pandas 2.0; pandas-dev/pandas#52493): 341 users then render `Religion: nan`. Debian's pandas 1.5.3 keeps "None"
    as a string, so on pandas < 2 the one missing default is added to the default NA set (the same set object
    read_csv consults), and PSA's unmodified `pd.read_csv(csv_file)` parses as 2.2.1 does."""
    if int(pd.__version__.split(".")[0]) >= 2:
        return None
    from pandas._libs import parsers

    parsers.STR_NA_VALUES.add("None")
    return 'pandas < 2: "None" added to pandas._libs.parsers.STR_NA_VALUES (pandas >= 2 default NA strings)'


class LastHidden(torch.nn.Module):
    """Feature-extraction graph: Qwen2Model(input_ids, attention_mask) -> last_hidden_state (after the final norm)."""

    def __init__(self, qwen2_model):
        super().__init__()
        self.model = qwen2_model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=True).last_hidden_state


def main():
    global OUT
    import pandas as pd

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="qwen2-fixture-")
    try:
        transformers, tf_info = transformers_env.load_transformers(tmp)
        from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
        from transformers.models.qwen2 import tokenization_qwen2

        psalign_commit = subprocess.check_output(["git", "-C", PSALIGN_MIRROR, "rev-parse", PSALIGN_REF + "^{commit}"]).decode().strip()
        users_csv = git_show(f"{PSA_DIR}/users.csv")
        template_bytes = git_show(f"{PSA_DIR}/get_embeds.txt")
        psa_tmp = os.path.join(tmp, "psa")
        os.makedirs(psa_tmp)
        open(os.path.join(psa_tmp, "users.csv"), "wb").write(users_csv)
        open(os.path.join(psa_tmp, "get_embeds.txt"), "wb").write(template_bytes)
        with open(os.path.join(psa_tmp, "get_embeds.txt"), "r", encoding="utf-8") as f:  # as get_embeds.py reads it
            template = f.read()
        pandas_shim = pandas_like_psa(pd)
        df = pd.read_csv(os.path.join(psa_tmp, "users.csv"))  # as get_embeds.py reads it (default NaN parsing)
        no_religion = int(df["Religion"].isna().sum())
        if no_religion != 341:
            raise SystemExit(f"expected pandas to read 341 religions 'None' as NaN (PSA's pandas 2.2.1), got {no_religion}")
        raw_rows = list(csv.DictReader(io.StringIO(users_csv.decode("utf-8"))))
        rendered = [render_like_get_embeds(template, row) for _, row in df.iterrows()]

        # Built in a staging folder and swapped in at the end: readers of the committed fixture never see a half one.
        final_out = OUT
        OUT = os.path.join(tmp, "profile-encoder")
        os.makedirs(OUT)

        # ---- tokenizer: learn merges on PSA's own texts (the rendered prompts, the system message, role names) ----
        pattern = tokenization_qwen2.re.compile(tokenization_qwen2.PRETOKENIZE_REGEX)
        byte_encoder = tokenization_qwen2.bytes_to_unicode()
        corpus = [unicodedata.normalize("NFC", t) for t in rendered] + [DEFAULT_SYSTEM, "system\n", "user\n", "assistant\n"]
        merges = learn_merges(corpus, pattern, byte_encoder, NUM_MERGES)
        vocab = {}
        for b in byte_encoder:  # the 256 byte symbols, in GPT-2 / Qwen order ("!" = 0 ... )
            vocab[byte_encoder[b]] = len(vocab)
        for a, b in merges:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        added = [(t, len(vocab) + i) for i, t in enumerate(SPECIAL_TOKENS)]
        dump_json(os.path.join(OUT, "vocab.json"), vocab, indent=None)
        with open(os.path.join(OUT, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        dump_json(os.path.join(OUT, "tokenizer.json"), tokenizer_json(vocab, merges, tokenization_qwen2.PRETOKENIZE_REGEX, added))
        dump_json(os.path.join(OUT, "tokenizer_config.json"), tokenizer_config(added))
        dump_json(os.path.join(OUT, "special_tokens_map.json"), {
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
            "eos_token": {"content": "<|im_end|>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
            "pad_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        })
        vocab_size = len(vocab) + len(added)

        # ---- model: transformers' own Qwen2ForCausalLM, seeded ----
        torch.manual_seed(SEED)
        config = Qwen2Config(
            vocab_size=vocab_size,
            bos_token_id=added[0][1],
            eos_token_id=added[2][1],
            attn_implementation="eager",
            **TINY,
        )
        model = Qwen2ForCausalLM(config).eval()  # weights from transformers' _init_weights (normal(0, 0.25), zero biases)
        with torch.no_grad():  # also give the biases and norm gains values, so a missing bias or gain shows
            g = torch.Generator().manual_seed(SEED + 1)
            for name, p in model.named_parameters():
                if name.endswith(".bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
        model_dir = os.path.join(tmp, "model")
        # What save_pretrained(safe_serialization=False) writes; its sharding helper lives in huggingface_hub (faked)
        os.makedirs(model_dir)
        model.config.architectures = [type(model).__name__]  # as save_pretrained records it
        model.config.save_pretrained(model_dir)
        model.generation_config.save_pretrained(model_dir)
        torch.save(model.state_dict(), os.path.join(model_dir, "pytorch_model.bin"))
        for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(OUT, name), model_dir)
        for name in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(model_dir, name), OUT)

        # ---- PSAlign's own generate_user_embeddings, one user per batch, and in its batches of 32 ----
        get_embeds, get_embeds_sha = load_get_embeds(tmp)
        prompt_file = os.path.join(psa_tmp, "get_embeds.txt")
        csv_file = os.path.join(psa_tmp, "users.csv")
        runs = {}
        for bs in (1, 32):
            embed_dir = os.path.join(tmp, f"embeds-{bs}")
            get_embeds.generate_user_embeddings(model_dir, prompt_file, csv_file, embed_dir, debug_limit=None, batch_size=bs)
            runs[bs] = np.stack([np.load(os.path.join(embed_dir, f"{i + 1:07d}.npy")) for i in range(len(df))])
        batch_delta = float(np.abs(runs[1] - runs[32]).max())
        batch_rel = float((np.abs(runs[1] - runs[32]).max(axis=1) / np.abs(runs[1]).max(axis=1)).max())

        # ---- the same objects get_embeds.py builds, for the per-user records ----
        tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left", use_fast=False)
        lm = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype="auto").eval()
        if type(tok).__name__ != "Qwen2Tokenizer":
            raise SystemExit(f"expected the slow Qwen2Tokenizer, got {type(tok).__name__}")
        if lm.dtype != torch.float32 or lm.config._attn_implementation != "eager":
            raise SystemExit(f"unexpected model dtype/attention: {lm.dtype} {lm.config._attn_implementation}")
        for t, i in added:
            if tok.convert_tokens_to_ids(t) != i:
                raise SystemExit(f"{t} has id {tok.convert_tokens_to_ids(t)}, expected {i}")

        users = []
        worst_hidden = 0.0
        for uid in USER_IDS:
            text = rendered[uid - 1]
            messages = [{"role": "user", "content": text}]
            chat = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            if not chat.startswith("<|im_start|>system\n" + DEFAULT_SYSTEM + "<|im_end|>\n<|im_start|>user\n" + text):
                raise SystemExit("the chat template did not insert Qwen2.5's default system message")
            enc = tok([chat], return_tensors="pt", padding=True, truncation=True)
            with torch.inference_mode():
                out = lm(**enc, output_hidden_states=True, return_dict=True)
                last = out.hidden_states[-1]
                base = lm.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                worst_hidden = max(worst_hidden, float((last - base).abs().max()))
                mask = enc["attention_mask"].unsqueeze(-1)
                emb = ((last * mask).sum(dim=1) / mask.sum(dim=1)).to(torch.float32).numpy()[0]
            if not np.array_equal(emb, runs[1][uid - 1]):
                raise SystemExit(f"user {uid}: embedding differs from get_embeds.py's own run")
            ids = enc["input_ids"][0].tolist()
            users.append({
                "user_id": uid,
                "profile": {k: (int(v) if k == "Age" else v) for k, v in raw_rows[uid - 1].items()},  # users.csv as written
                "text": text,
                "chat_text": chat,
                "input_ids": ids,
                "tokens": len(ids),
                "embedding": [float(x) for x in emb],
                "embedding_batched_like_psa": [float(x) for x in runs[32][uid - 1]],
            })
        if worst_hidden != 0.0:
            raise SystemExit(f"hidden_states[-1] != last_hidden_state (max {worst_hidden})")

        # ---- ONNX export (feature extraction: input_ids, attention_mask -> last_hidden_state) ----
        onnx_path = os.path.join(OUT, "model.onnx")
        ex = tok([users[0]["chat_text"], users[3]["chat_text"]], return_tensors="pt", padding=True)
        with torch.no_grad():
            torch.onnx.export(
                LastHidden(lm.model),
                (ex["input_ids"], ex["attention_mask"]),
                onnx_path,
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": {0: "batch_size", 1: "sequence_length"},
                    "attention_mask": {0: "batch_size", 1: "sequence_length"},
                    "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
                },
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
            )

        # ---- ONNX check inputs: all fixture users in one left-padded batch (as get_embeds.py batched) ----
        batch = tok([u["chat_text"] for u in users], return_tensors="pt", padding=True)
        with torch.inference_mode():
            batch_last = lm(**batch, output_hidden_states=True, return_dict=True).hidden_states[-1]
        check_dir = os.path.join(OUT, "onnx-check")
        os.makedirs(check_dir)
        np.save(os.path.join(check_dir, "batch_input_ids.npy"), batch["input_ids"].numpy().astype(np.int64))
        np.save(os.path.join(check_dir, "batch_attention_mask.npy"), batch["attention_mask"].numpy().astype(np.int64))
        np.save(os.path.join(check_dir, "batch_last_hidden_state.npy"), batch_last.numpy().astype(np.float32))

        expected = {
            "about": "PSA user embeddings computed by PSAlign's own get_embeds.py (generate_user_embeddings) with "
                     "transformers' own Qwen2 on this tiny encoder; see scripts/reference/README.md",
            "embedding": "masked mean over attention_mask of hidden_states[-1] (= last_hidden_state, after the final norm)",
            "tolerance": {"onnx_vs_torch_abs": 1e-5},
            "encoder": {
                "hidden_size": TINY["hidden_size"],
                "vocab_size": vocab_size,
                "special_tokens": {t: i for t, i in added},
                "merges": len(merges),
                "seed": SEED,
            },
            "sources": {
                "transformers": tf_info,
                "psalign": {
                    "commit": psalign_commit,
                    "get_embeds.py": {"sha256_patched": get_embeds_sha, "patches": [
                        "AutoModelForCausalLM.from_pretrained: device_map=\"auto\" removed (accelerate not installed; CPU)",
                        "AutoTokenizer.from_pretrained: use_fast=False (slow Qwen2Tokenizer; the Rust tokenizers library is not installed)",
                    ]},
                    "get_embeds.txt": {"sha256": sha256(template_bytes)},
                    "users.csv": {"sha256": sha256(users_csv), "rows": int(len(df))},
                },
                "pandas": {"version": pd.__version__, "shim": pandas_shim, "religion_nan_rows": no_religion},
                "numpy": np.__version__,
                "chat_template": "Qwen2.5-Instruct tokenizer_config.json chat_template (see README)",
            },
            "batching": {
                "note": "get_embeds.py ran batches of 32 with left padding; embedding_batched_like_psa is that run",
                "max_abs_diff_single_vs_batch32_all_users": batch_delta,
                "max_rel_diff_single_vs_batch32_all_users": batch_rel,
            },
            "users": users,
        }
        dump_json(os.path.join(OUT, "expected.json"), expected)

        files = sorted(os.path.relpath(os.path.join(d, f), OUT) for d, _, fs in os.walk(OUT) for f in fs)
        total = 0
        for rel in files:
            data = open(os.path.join(OUT, rel), "rb").read()
            total += len(data)
            print(f"{sha256(data)[:16]}  {len(data):>9}  {rel}")
        print(f"total {total} bytes; vocab {vocab_size}; merges {len(merges)}; "
              f"single vs batch-32 max |d| {batch_delta:.3e} (rel {batch_rel:.3e})")
        if os.path.isdir(final_out):
            shutil.rmtree(final_out)
        shutil.copytree(OUT, final_out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
