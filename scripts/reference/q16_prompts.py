#!/usr/bin/python3
"""Convert Q16's learned prompts for CLIP ViT-L/14 into the data file psa-web ships, and make reference cases.

    /usr/bin/python3 scripts/reference/q16_prompts.py      # from the repo root; ~5 s; deterministic

Reads (q16_env.py): data/ViT-L-14/prompts.p of ml-research/Q16 at Q16_COMMIT, through Q16's own `load_prompts`
(pickled numpy float16 [2, 768] -> torch.HalfTensor). Uses Debian's python3-torch and numpy.
Writes:
  * src/engine/image-check/q16-vit-l-14.json — the two prompt embeddings as little-endian float32 (exact: every
    float16 is a float32), base64, with shape, labels, scale and where they came from (repo, commit, path, blob,
    license). The app ships this file; nothing downloads it.
  * fixtures/q16/vit-l-14-cases.json — Q16's own SimClassifier + softmax + topk on fixed image embeddings (seeded
    random ones, and ones pushed towards each prompt so both decisions occur), for tests/engine/q16.test.ts.
"""
import base64
import json
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import q16_env  # noqa: E402

PROMPTS_PATH = "data/ViT-L-14/prompts.p"
OUT_DATA = os.path.join(ROOT, "src", "engine", "image-check", "q16-vit-l-14.json")
OUT_CASES = os.path.join(ROOT, "fixtures", "q16", "vit-l-14-cases.json")
SEED = 20261207


def b64_f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def main():
    utils = q16_env.load_q16_utils()
    with tempfile.NamedTemporaryFile(suffix=".p") as f:
        f.write(q16_env.git_show(PROMPTS_PATH))
        f.flush()
        prompts = utils.load_prompts(f.name, "cpu")  # Q16's loader: torch.HalfTensor(pickle.load(...))
    assert prompts.dtype == torch.float16 and tuple(prompts.shape) == (2, 768), (prompts.dtype, prompts.shape)
    p32 = prompts.float().numpy()
    source = {
        "repo": q16_env.Q16_REPO, "commit": q16_env.Q16_COMMIT, "path": PROMPTS_PATH,
        "blob": q16_env.blob_sha(PROMPTS_PATH), "license": q16_env.Q16_LICENSE,
        "paper": "Schramowski, Tauchmann, Kersting: Can Machines Help Us Answering Question 16 in Datasheets ... (FAccT 2022)",
        "sourceDtype": "float16 (numpy, pickled); stored here as float32, exactly",
        "madeBy": "scripts/reference/q16_prompts.py",
    }
    data = {
        "model": "CLIP ViT-L/14 image embedding (visual projection output, 768-d)",
        "labels": q16_env.LABELS, "inappropriateIndex": 1, "scale": q16_env.SCALE,
        "shape": [2, 768], "dtype": "float32-le", "data": b64_f32(p32), "source": source,
    }
    with open(OUT_DATA, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")

    # Reference cases: random directions (mostly near neither prompt), and mixes t*prompt_k + noise for both k.
    rng = np.random.RandomState(SEED)
    vecs, kinds = [], []
    for i in range(4):
        vecs.append(rng.randn(768) * (0.5 + i)); kinds.append("random")
    pn = p32 / np.linalg.norm(p32, axis=1, keepdims=True)
    for k in (0, 1):
        for t in (0.05, 0.2, 1.0):
            vecs.append(t * pn[k] * 10 + rng.randn(768) * 0.3); kinds.append(f"towards-{q16_env.LABELS[k]}-{t}")
    vecs.append(pn[0] + pn[1] + rng.randn(768) * 1e-3); kinds.append("between")
    E = np.stack(vecs).astype(np.float32)
    logits, probs, idx = q16_env.q16_probs(utils, prompts, E)
    cases = [{"kind": k, "embedding": b64_f32(E[i]), "logits": logits[i].tolist(), "probs": probs[i].tolist(),
              "label": int(idx[i]), "inappropriate": bool(idx[i] == 1)} for i, k in enumerate(kinds)]
    assert {c["label"] for c in cases} == {0, 1}, "cases must cover both decisions"
    with open(OUT_CASES, "w") as f:
        json.dump({"source": source, "torch": torch.__version__, "numpy": np.__version__,
                   "deviation": "Q16 computes in float16 on a GPU; this reference runs Q16's SimClassifier in float32 on the float16 prompts (torch 1.13 has no CPU float16 matmul)",
                   "embeddingDtype": "float32-le base64, [768]", "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote", OUT_DATA, "and", OUT_CASES, "labels:", [c["label"] for c in cases])


if __name__ == "__main__":
    main()
