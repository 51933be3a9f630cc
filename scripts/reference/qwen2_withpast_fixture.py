#!/usr/bin/env python3
"""The tiny Qwen2 of fixtures/profile-encoder/ in the form public causal-LM exports take (fixtures/profile-encoder-withpast/).

What onnx-community / transformers.js publish for Qwen2.5-*-Instruct (e.g. onnx-community/Qwen2.5-0.5B-Instruct,
-1.5B-Instruct: `onnx/model.onnx` + `onnx/model.onnx_data`, `model_q4.onnx`, `model_q4f16.onnx`, …) is Optimum's
`text-generation-with-past` export: ONE graph
    inputs  input_ids [b, s], attention_mask [b, past + s], position_ids [b, s],
            past_key_values.N.key / .value [b, kv_heads, past, head_dim]      (N = 0 … layers-1)
    outputs logits [b, s, vocab], present.N.key / .value [b, kv_heads, past + s, head_dim]
with the weights in external data. The first step feeds past tensors of length 0. Older exports (Xenova/*, Optimum
< 1.14) publish `decoder_model_merged.onnx` instead: the no-past and with-past graphs joined by an If node on a
`use_cache_branch` input (then = with past, else = no past), their weights deduplicated into the outer graph; that
form is made here too (`onnx/decoder_model_merged.onnx` + `.onnx_data`), by the same steps as Optimum's
`merge_decoders` (optimum/onnx/graph_transformations.py, read, not copied): a second export without past inputs,
initializers shared by content (data type, dims, bytes) and moved to the outer graph except scalars and 1-D int
tensors, which stay in their branch, branches with no inputs reading the outer graph's, outer inputs = the union of
both graphs' inputs + `use_cache_branch` (bool [1]).

Made here (no Optimum, no pip): transformers' own Qwen2ForCausalLM — the very model of fixtures/profile-encoder/,
rebuilt from its config.json with qwen2_fixture.py's seed and init (checked: its masked-mean embeddings equal that
fixture's expected.json) — exported by torch.onnx.export (torch 1.13, opset 17) with the past tensors as inputs
(transformers' legacy tuple cache), the input/output names and dynamic axes Optimum gives them, then saved by the
`onnx` package with every tensor ≥ 1 KiB in `onnx/model.onnx_data` (Optimum's size threshold). Differences from an
Optimum export: Optimum traces through its own model patcher and runs its post-processing (deduplicated initializers,
a tied lm_head shared with the embedding where the config ties them — not here: Qwen2.5-7B and this fixture have
`tie_word_embeddings` false); node names carry the same transformers module paths (`/model/layers.N/...`,
`/lm_head/MatMul`).

Recorded in expected.json: per PSA profile text (the 8 users of fixtures/profile-encoder/expected.json) the ids and
transformers' masked mean of `last_hidden_state` (= hidden_states[-1], after the final norm) with no past, and a
with-past check (seeded past of length 3, 4 new tokens: torch's logits and present.1.value) that proves the graph is a
working with-past decoder when onnxruntime runs it.

The q4 version (`onnx/model_q4.onnx`) is written by the project's own q4 writer, not here:
    npx tsx scripts/convert/encoder/withpast-q4.ts
(onnxruntime's Python quantizer is not installed on this machine).

Run with Debian's python (torch 1.13, python3-onnx):  /usr/bin/python3 scripts/reference/qwen2_withpast_fixture.py
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SRC = os.path.join(ROOT, "fixtures", "profile-encoder")
OUT = os.path.join(ROOT, "fixtures", "profile-encoder-withpast")
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

import qwen2_fixture  # noqa: E402  (TINY, SEED, ONNX_OPSET: the same model)
import transformers_env  # noqa: E402

TOKENIZER_FILES = ["config.json", "generation_config.json", "merges.txt", "special_tokens_map.json",
                   "tokenizer.json", "tokenizer_config.json", "vocab.json"]
CHECK_PAST = 3
CHECK_NEW = 4


class NoPast(torch.nn.Module):
    """The first-step decoder of Optimum's merged pair: no past in, logits + present out. Holds Qwen2ForCausalLM's own
    `model` and `lm_head` as attributes of those names, so node names are Optimum's (/model/layers.N/..., /lm_head/MatMul)."""

    def __init__(self, lm):
        super().__init__()
        self.model = lm.model
        self.lm_head = lm.lm_head

    def forward(self, input_ids, attention_mask, position_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=True,
                         return_dict=True)
        cache = out.past_key_values
        cache = cache.to_legacy_cache() if hasattr(cache, "to_legacy_cache") else cache
        # Qwen2ForCausalLM.forward: logits = lm_head(hidden_states).float()
        return (self.lm_head(out.last_hidden_state).float(), *[t for kv in cache for t in kv])


def merge_decoders(no_past, with_past):
    """Optimum's merged decoder from the two exports (see the module docstring)."""
    from onnx import helper

    def key(t):
        return (t.data_type, tuple(t.dims), t.raw_data or onnx.numpy_helper.to_array(t).tobytes())

    def branch_local(t):
        return len(t.dims) == 0 or (len(t.dims) == 1 and t.data_type in (6, 7))

    outer, outer_by_key = [], {}
    for tag, m in (("no_past", no_past), ("with_past", with_past)):
        rename, local = {}, []
        for t in m.graph.initializer:
            if branch_local(t):
                local.append(t)
                continue
            k = key(t)
            if k not in outer_by_key:
                shared = onnx.TensorProto()
                shared.CopyFrom(t)
                if any(o.name == t.name for o in outer):  # same name, other bytes: keep both apart
                    shared.name = f"{t.name}_{tag}"
                outer.append(shared)
                outer_by_key[k] = shared.name
            rename[t.name] = outer_by_key[k]
        for n in m.graph.node:
            for i, x in enumerate(n.input):
                n.input[i] = rename.get(x, x)
        del m.graph.initializer[:]
        m.graph.initializer.extend(local)
    if [o.name for o in no_past.graph.output] != [o.name for o in with_past.graph.output]:
        raise SystemExit("the two exports' outputs differ")
    branches = {tag: helper.make_graph(list(m.graph.node), tag, [], list(m.graph.output), list(m.graph.initializer))
                for tag, m in (("no_past", no_past), ("with_past", with_past))}
    inputs, seen = [], set()
    for m in (no_past, with_past):
        for i in m.graph.input:
            if i.name not in seen:
                seen.add(i.name)
                inputs.append(i)
    use_cache = helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
    if_node = helper.make_node("If", ["use_cache_branch"], [o.name for o in no_past.graph.output], name="optimum::if",
                               then_branch=branches["with_past"], else_branch=branches["no_past"])
    graph = helper.make_graph([if_node], "merged", inputs + [use_cache], list(no_past.graph.output), outer)
    return helper.make_model(graph, producer_name="psa-web qwen2_withpast_fixture.py (Optimum merge_decoders steps)",
                             opset_imports=list(no_past.opset_import))


class WithPast(torch.nn.Module):
    """Qwen2ForCausalLM as Optimum's text-generation-with-past graph: flat past in, logits + flat present out (its
    `model` and `lm_head` held under those names, as NoPast)."""

    def __init__(self, lm, layers):
        super().__init__()
        self.model = lm.model
        self.lm_head = lm.lm_head
        self.layers = layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pkv = tuple((past[2 * i], past[2 * i + 1]) for i in range(self.layers))
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=pkv, use_cache=True, return_dict=True)
        present = [t for kv in out.past_key_values for t in kv]  # legacy tuples (a tuple cache came in)
        return (self.lm_head(out.last_hidden_state).float(), *present)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="qwen2-withpast-")
    try:
        transformers, tf_info = transformers_env.load_transformers(tmp)
        from transformers import Qwen2Config, Qwen2ForCausalLM

        src_expected = json.load(open(os.path.join(SRC, "expected.json"), encoding="utf-8"))
        enc = src_expected["encoder"]
        # The model of fixtures/profile-encoder/, rebuilt exactly as qwen2_fixture.py builds it.
        torch.manual_seed(qwen2_fixture.SEED)
        config = Qwen2Config(vocab_size=enc["vocab_size"], bos_token_id=enc["special_tokens"]["<|endoftext|>"],
                             eos_token_id=enc["special_tokens"]["<|im_end|>"], attn_implementation="eager",
                             **qwen2_fixture.TINY)
        lm = Qwen2ForCausalLM(config).eval()
        with torch.no_grad():
            g = torch.Generator().manual_seed(qwen2_fixture.SEED + 1)
            for name, p in lm.named_parameters():
                if name.endswith(".bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif name.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))

        layers = config.num_hidden_layers
        kv_heads = config.num_key_value_heads
        head_dim = config.hidden_size // config.num_attention_heads

        users = []
        worst_vs_src = 0.0
        for u in src_expected["users"]:
            ids = torch.tensor([u["input_ids"]], dtype=torch.int64)
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                out = lm(input_ids=ids, attention_mask=mask, output_hidden_states=True, return_dict=True)
                last = out.hidden_states[-1]
                m = mask.unsqueeze(-1)
                emb = ((last * m).sum(dim=1) / m.sum(dim=1)).to(torch.float32).numpy()[0]
            worst_vs_src = max(worst_vs_src, float(np.abs(emb - np.array(u["embedding"], dtype=np.float32)).max()))
            users.append({"user_id": u["user_id"], "text": u["text"], "input_ids": u["input_ids"],
                          "embedding": [float(x) for x in emb]})
        if worst_vs_src > 1e-6:
            raise SystemExit(f"the rebuilt model is not fixtures/profile-encoder's (embeddings differ by {worst_vs_src})")

        # The wrappers compute logits as Qwen2ForCausalLM does (lm_head on the last hidden state).
        with torch.inference_mode():
            t = torch.tensor([users[0]["input_ids"]], dtype=torch.int64)
            ref = lm(input_ids=t, attention_mask=torch.ones_like(t), return_dict=True).logits
            mine = NoPast(lm)(t, torch.ones_like(t), torch.arange(t.shape[1]).unsqueeze(0))[0]
            if not torch.equal(ref, mine):
                raise SystemExit("the export wrapper's logits differ from Qwen2ForCausalLM's")

        # ---- the export: Optimum's text-generation-with-past names and axes ----
        g = torch.Generator().manual_seed(qwen2_fixture.SEED + 2)
        ids = torch.tensor([users[0]["input_ids"][:CHECK_NEW], users[1]["input_ids"][:CHECK_NEW]], dtype=torch.int64)
        mask = torch.ones((2, CHECK_PAST + CHECK_NEW), dtype=torch.int64)
        pos = torch.arange(CHECK_PAST, CHECK_PAST + CHECK_NEW, dtype=torch.int64).unsqueeze(0).repeat(2, 1)
        past = [torch.randn((2, kv_heads, CHECK_PAST, head_dim), generator=g) for _ in range(2 * layers)]
        past_names = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        axes = {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"},
        }
        for n in past_names:
            axes[n] = {0: "batch_size", 2: "past_sequence_length"}
        for n in present_names:
            axes[n] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
        raw = os.path.join(tmp, "raw.onnx")
        wrapper = WithPast(lm, layers).eval()
        with torch.no_grad():
            torch.onnx.export(wrapper, (ids, mask, pos, *past), raw,
                              input_names=["input_ids", "attention_mask", "position_ids", *past_names],
                              output_names=["logits", *present_names], dynamic_axes=axes,
                              opset_version=qwen2_fixture.ONNX_OPSET, do_constant_folding=True)
            check_out = wrapper(ids, mask, pos, *past)
            raw_no_past = os.path.join(tmp, "raw-no-past.onnx")
            np_axes = {k: v for k, v in axes.items() if not k.startswith("past_")}
            np_axes["attention_mask"] = {0: "batch_size", 1: "sequence_length"}
            for n in present_names:
                np_axes[n] = {0: "batch_size", 2: "sequence_length"}
            np_ids = ids[:, :CHECK_NEW]
            torch.onnx.export(NoPast(lm).eval(), (np_ids, torch.ones_like(np_ids),
                                                  torch.arange(CHECK_NEW).unsqueeze(0).repeat(2, 1)), raw_no_past,
                              input_names=["input_ids", "attention_mask", "position_ids"],
                              output_names=["logits", *present_names], dynamic_axes=np_axes,
                              opset_version=qwen2_fixture.ONNX_OPSET, do_constant_folding=True)

        out_dir = os.path.join(tmp, "out")
        os.makedirs(os.path.join(out_dir, "onnx"))
        model = onnx.load(raw)
        onnx.save_model(model, os.path.join(out_dir, "onnx", "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=1024)
        onnx.checker.check_model(os.path.join(out_dir, "onnx", "model.onnx"))
        merged = merge_decoders(onnx.load(raw_no_past), onnx.load(raw))
        onnx.checker.check_model(merged)
        onnx.save_model(merged, os.path.join(out_dir, "onnx", "decoder_model_merged.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="decoder_model_merged.onnx_data", size_threshold=1024)
        for f in TOKENIZER_FILES:
            shutil.copy(os.path.join(SRC, f), out_dir)

        expected = {
            "about": "transformers' own Qwen2ForCausalLM (fixtures/profile-encoder's model) exported in Optimum's "
                     "text-generation-with-past form; see scripts/reference/qwen2_withpast_fixture.py",
            "embedding": "masked mean over attention_mask of last_hidden_state (hidden_states[-1], after the final "
                         "norm), no past",
            "same_model_as": {"fixture": "fixtures/profile-encoder", "max_abs_diff_embeddings": worst_vs_src},
            "graph": {"inputs": ["input_ids", "attention_mask", "position_ids", *past_names],
                      "outputs": ["logits", *present_names], "opset": qwen2_fixture.ONNX_OPSET,
                      "external_data": "onnx/model.onnx_data (tensors >= 1024 bytes)",
                      "exporter": f"torch.onnx.export (torch {torch.__version__}), saved by onnx {onnx.__version__}"},
            "sources": {"transformers": tf_info},
            "with_past_check": {
                "input_ids": ids.tolist(),
                "attention_mask": mask.tolist(),
                "position_ids": pos.tolist(),
                "past_shape": [2, kv_heads, CHECK_PAST, head_dim],
                "past": {n: [float(x) for x in t.flatten()] for n, t in zip(past_names, past)},
                "logits_last": [float(x) for x in check_out[0][:, -1, :].flatten()],
                "logits_shape": list(check_out[0].shape),
                "present.1.value": [float(x) for x in check_out[1 + 3].flatten()],
                "present_shape": list(check_out[1 + 3].shape),
            },
            "users": users,
        }
        qwen2_fixture.dump_json(os.path.join(out_dir, "expected.json"), expected)
        # Keep a q4 file made earlier by withpast-q4.ts (it is derived from model.onnx; rerun that script after this one).
        for keep in ("model_q4.onnx",):
            old = os.path.join(OUT, "onnx", keep)
            if os.path.exists(old):
                shutil.copy(old, os.path.join(out_dir, "onnx", keep))
        for d, _, fs in os.walk(out_dir):
            for f in sorted(fs):
                p = os.path.join(d, f)
                print(f"{os.path.getsize(p):>9}  {os.path.relpath(p, out_dir)}")
        if os.path.isdir(OUT):
            shutil.rmtree(OUT)
        shutil.copytree(out_dir, OUT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
