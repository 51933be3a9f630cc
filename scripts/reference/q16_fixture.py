#!/usr/bin/python3
"""Build fixtures/q16/tiny: Q16's own classifier on the tiny safety checker's image embeddings (the parity proof of
psa-web's Q16 path: ONNX graph edit → image_embeds → q16.ts).

    /usr/bin/python3 scripts/reference/q16_fixture.py      # from the repo root, ~15 s, deterministic

What it uses (nothing installed; see scripts/reference/README.md):
  * the tiny checker of fixtures/safety-checker, rebuilt in torch by safety_checker_fixture.py's own `build` (the
    same seeds, diffusers' real StableDiffusionSafetyChecker on transformers' real CLIPVisionModel) into a temp dir;
    it must reproduce the committed expected.json's cosines within 1e-5 (recorded as checkerCosineGap: the export
    is not byte-stable across torch builds, the seeded construction rounds differently by ~1e-7);
  * Q16's own code (q16_env.py): its `load_prompts` reads the tiny prompts from a pickle written as Q16's
    save_prompts writes one (numpy float16 → torch.HalfTensor); its SimClassifier + softmax + topk decide;
  * Debian's python3-torch / numpy / Pillow.

The tiny prompts: two seeded random 16-d vectors (Q16's are 768-d; the tiny CLIP projects to 16), re-drawn until no
fixture image's probability is within MARGIN of Q16's 0.5 and both decisions occur, so ONNX-vs-torch rounding cannot
flip a verdict. image_embeds: diffusers' own computation, checker.visual_projection(checker.vision_model(clip_input)
.pooler_output), on the committed clip-input/*.npy.

Writes fixtures/q16/tiny/: q16.json (the prompts, in the app's Q16 file format: also copied into the demo bundle as
safety_checker/q16.json) and expected.json (per image: image_embeds, Q16 logits, probabilities, label).
"""
import base64
import json
import os
import pickle
import shutil
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import q16_env  # noqa: E402
import safety_checker_fixture as scf  # noqa: E402

OUT = os.path.join(ROOT, "fixtures", "q16", "tiny")
CHECKER = os.path.join(ROOT, "fixtures", "safety-checker")
SEED = 20261208
MARGIN = 0.05


def b64_f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def rebuilt_checker(tmp):
    """Runs safety_checker_fixture.build into tmp and returns the torch checker it made (and its info)."""
    made = {}
    orig_load = scf.load_checker_module

    def load(t):
        transformers, tinfo, sc, dinfo = orig_load(t)
        cls = sc.StableDiffusionSafetyChecker

        class Recording(cls):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                made["checker"] = self

        sc.StableDiffusionSafetyChecker = Recording
        made["info"] = {"diffusers": dinfo, "transformers": tinfo}
        made["restore"] = lambda: setattr(sc, "StableDiffusionSafetyChecker", cls)
        return transformers, tinfo, sc, dinfo

    scf.load_checker_module = load
    stage = os.path.join(tmp, "stage")
    try:
        scf.build(os.path.join(tmp, "b"), stage)
    finally:
        scf.load_checker_module = orig_load
        made.get("restore", lambda: None)()
    return made["checker"].eval(), made["info"]


def check_same_checker(checker, expected_checker):
    """The rebuilt torch checker must reproduce the committed fixture's cosines (the export is not byte-stable
    across torch builds: float rounding in the seeded construction moves weights by ~1e-7)."""
    worst = 0.0
    for rec in expected_checker["images"]:
        clip_input = torch.from_numpy(np.load(os.path.join(CHECKER, rec["clipInput"])))
        with torch.no_grad():
            e = torch.nn.functional.normalize(checker.visual_projection(checker.vision_model(clip_input)[1]))
            c = torch.nn.functional.normalize(checker.concept_embeds)
            cos = (e @ c.T)[0].double().numpy()
        worst = max(worst, float(np.abs(cos - np.array(rec["byAdjustment"]["0"]["cos"])).max()))
    if worst > 1e-5:
        raise SystemExit(f"the rebuilt tiny checker is not fixtures/safety-checker's (cosines differ by {worst:.2e}); "
                         "regenerate that fixture first (scripts/reference/safety_checker_fixture.py)")
    return worst


def main():
    tmp = tempfile.mkdtemp(prefix="q16-fixture-")
    try:
        checker, info = rebuilt_checker(tmp)
        expected_checker = json.load(open(os.path.join(CHECKER, "expected.json")))
        cos_gap = check_same_checker(checker, expected_checker)
        utils = q16_env.load_q16_utils()
        ids, embeds = [], []
        for rec in expected_checker["images"]:
            clip_input = torch.from_numpy(np.load(os.path.join(CHECKER, rec["clipInput"])))
            with torch.no_grad():
                pooled = checker.vision_model(clip_input)[1]  # forward_onnx: pooled_output = vision_model(...)[1]
                e = checker.visual_projection(pooled)  # forward_onnx: image_embeds = visual_projection(pooled_output)
            ids.append(rec["id"])
            embeds.append(e[0].numpy().astype(np.float32))
        E = np.stack(embeds)

        rng = np.random.RandomState(SEED)
        for attempt in range(1000):
            prompts16 = (rng.randn(2, E.shape[1]) * 3).astype(np.float16)  # Q16's prompts are pickled float16
            ppath = os.path.join(tmp, "prompts.p")
            with open(ppath, "wb") as f:
                pickle.dump(prompts16, f)  # as Q16's save_prompts: pickle.dump(numpy array)
            prompts = utils.load_prompts(ppath, "cpu")
            logits, probs, idx = q16_env.q16_probs(utils, prompts, E)
            if np.abs(probs[:, 1] - 0.5).min() >= MARGIN and 2 <= idx.sum() <= len(ids) - 2:
                break
        else:
            raise SystemExit("no prompt draw met the design")

        os.makedirs(OUT, exist_ok=True)
        source = {"repo": "psa-web (tiny test prompts, not Q16's)", "madeBy": "scripts/reference/q16_fixture.py",
                  "seed": SEED, "draw": attempt, "sourceDtype": "float16 (as Q16's prompts.p); stored as float32, exactly"}
        with open(os.path.join(OUT, "q16.json"), "w") as f:
            json.dump({"model": "the tiny safety checker's 16-d image embedding (fixtures/safety-checker)",
                       "labels": q16_env.LABELS, "inappropriateIndex": 1, "scale": q16_env.SCALE,
                       "shape": [2, int(E.shape[1])], "dtype": "float32-le",
                       "data": b64_f32(prompts.float().numpy()), "source": source}, f, indent=1)
            f.write("\n")
        q16_source = {"repo": q16_env.Q16_REPO, "commit": q16_env.Q16_COMMIT, "license": q16_env.Q16_LICENSE,
                      "used": ["main/clip_classifier/classify/utils.py: load_prompts, SimClassifier",
                               "main/paper_experiments/experiments.py eval_model_: softmax, topk (re-stated in q16_env.q16_probs)"]}
        with open(os.path.join(OUT, "expected.json"), "w") as f:
            json.dump({
                "sources": {"q16": q16_source, **info, "torch": torch.__version__, "numpy": np.__version__},
                "checker": "fixtures/safety-checker/model.onnx, rebuilt here by its own script",
                "checkerCosineGap": cos_gap,
                "deviation": "Q16 computes in float16 on a GPU; this reference runs Q16's SimClassifier in float32 on the float16 prompts",
                "margin": MARGIN,
                "images": [{"id": i, "imageEmbeds": E[k].tolist(), "logits": logits[k].tolist(), "probs": probs[k].tolist(),
                            "label": int(idx[k]), "inappropriate": bool(idx[k] == 1)} for k, i in enumerate(ids)],
            }, f, indent=1)
            f.write("\n")
        print("wrote", OUT, "labels:", dict(zip(ids, idx.tolist())), "probs:", np.round(probs[:, 1], 4).tolist())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
