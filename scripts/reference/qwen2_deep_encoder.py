#!/usr/bin/env python3
"""A full-depth synthetic profile encoder for measuring the quantized variants (issue 24, accuracy table).

Not a committed fixture (about 1.6 GB): written to OUT (default /tmp/psa-deep-encoder) for
`npx tsx scripts/convert/encoder/accuracy.ts OUT`. What it uses:
  * transformers' own Qwen2 (real source from the git mirror, see transformers_env.py; Debian's torch 1.13), random
    seeded fp32 weights; Qwen2.5-7B-Instruct's depth and attention shape — 28 layers, 28 query heads / 4 KV heads
    (GQA 7:1), q/k/v biases, SiLU MLP with intermediate = 5.29 x hidden, rope_theta 1e6, eps 1e-6 — at a reduced
    width: head_dim 32 instead of 128, so hidden 896 and intermediate 4736 (~410 M parameters, 1.6 GB fp32).
    The full width (3584, 7.6 B parameters) would need ~30 GB in fp32 for the weights alone: more than this 24 GB
    machine's memory, before the export's copy. K = 896 and 4736 are multiples of 32, as 3584 and 18944 are, so
    every linear layer is MatMulNBits-eligible in q4 exactly as at full width.
  * initializer_range 1/sqrt(896) (unit gain per matmul, so 28 random layers neither vanish into the residual
    stream nor blow it up); biases N(0, 0.1²), norm gains 1 + N(0, 0.2²), as the tiny fixture does.
  * the tiny fixture's tokenizer and vocabulary (fixtures/profile-encoder, 659 ids) and its users' chat token ids
    (expected.json), so the same PSA profile texts (~200 tokens) are embedded;
  * ONNX via torch.onnx.export (opset 17, feature extraction: input_ids, attention_mask -> last_hidden_state), as
    the fixture, traced on a short input (dynamic sequence axis). expected.json lists the users' texts; with
    --reference it also holds transformers' fp32 masked-mean embedding of each — off by default because Debian's
    torch 1.13 here runs fp32 GEMM at ~0.5 GFLOP/s (no BLAS), ~45 CPU-minutes for 8 users at 28 layers. The float32
    groups' agreement with transformers is shown on the tiny fixture (tests/convert/encoder-groups.test.ts); the
    variants are measured against the float32 groups.
Real Qwen2.5-7B has outlier features ("massive activations") that random weights lack: these numbers bound the
quantization of the weights themselves, not of Qwen's activation outliers (see the README's caveat).

Run: /usr/bin/python3 scripts/reference/qwen2_deep_encoder.py [OUT] [LAYERS] [--reference]
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "fixtures", "profile-encoder")
sys.path.insert(0, HERE)

import torch  # noqa: E402

import transformers_env  # noqa: E402

SEED = 20261207
HEAD_DIM = 32
DEEP = dict(
    hidden_size=28 * HEAD_DIM,
    intermediate_size=4736,
    num_attention_heads=28,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    rms_norm_eps=1e-06,
    hidden_act="silu",
    tie_word_embeddings=False,
    use_sliding_window=False,
    sliding_window=None,
    attention_dropout=0.0,
    initializer_range=(28 * HEAD_DIM) ** -0.5,
    torch_dtype="float32",
)


class LastHidden(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.model = m

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=True).last_hidden_state


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reference = "--reference" in sys.argv
    out = os.path.abspath(args[0] if args else "/tmp/psa-deep-encoder")
    layers = int(args[1]) if len(args) > 1 else 28
    torch.set_num_threads(2)
    fixture_cfg = json.load(open(os.path.join(FIXTURE, "config.json")))
    expected = json.load(open(os.path.join(FIXTURE, "expected.json")))
    tmp = tempfile.mkdtemp(prefix="qwen2-deep-")
    try:
        transformers_env.load_transformers(tmp)
        from transformers import Qwen2Config, Qwen2Model

        torch.manual_seed(SEED)
        config = Qwen2Config(vocab_size=fixture_cfg["vocab_size"], bos_token_id=fixture_cfg.get("bos_token_id"),
                             eos_token_id=fixture_cfg.get("eos_token_id"), attn_implementation="eager",
                             num_hidden_layers=layers, max_window_layers=layers, **DEEP)
        model = Qwen2Model(config).eval()
        with torch.no_grad():
            g = torch.Generator().manual_seed(SEED + 1)
            for name, p in model.named_parameters():
                if name.endswith(".bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(out)
        for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json"):
            shutil.copy(os.path.join(FIXTURE, name), out)
        cfg = dict(fixture_cfg)
        cfg.update({k: v for k, v in DEEP.items()})
        cfg.update(num_hidden_layers=layers, max_window_layers=layers)
        json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)

        users = []
        with torch.inference_mode():
            for u in expected["users"]:
                user = {"user_id": u["user_id"], "text": u["text"], "tokens": len(u["input_ids"])}
                if reference:
                    ids = torch.tensor([u["input_ids"]], dtype=torch.int64)
                    last = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
                    user["embedding"] = [float(x) for x in last.mean(dim=1)[0]]
                users.append(user)
        ex = torch.tensor([expected["users"][0]["input_ids"][:8]], dtype=torch.int64)  # short: tracing runs it once
        with torch.no_grad():
            torch.onnx.export(LastHidden(model), (ex, torch.ones_like(ex)), os.path.join(out, "model.onnx"),
                              input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                              dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                            "attention_mask": {0: "batch_size", 1: "sequence_length"},
                                            "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
                              opset_version=17, do_constant_folding=True)
        json.dump({"about": "PSA profile texts for the synthetic deep encoder (scripts/reference/qwen2_deep_encoder.py); with "
                            "--reference, transformers' Qwen2Model fp32 last_hidden_state mean (mask all ones) as embedding",
                   "config": {"layers": layers, **{k: DEEP[k] for k in ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads")}},
                   "seed": SEED, "torch": torch.__version__, "users": users},
                  open(os.path.join(out, "expected.json"), "w"), indent=1)
        print(f"wrote {out}: {layers} layers, hidden {DEEP['hidden_size']}, {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
