#!/usr/bin/python3
"""Build fixtures/safety-checker: diffusers' own StableDiffusionSafetyChecker (tiny, seeded) exported the way
diffusers' convert_stable_diffusion_checkpoint_to_onnx.py / Optimum export it, plus diffusers' own scores.

    /usr/bin/python3 scripts/reference/safety_checker_fixture.py     # from the repo root, ~10 s, deterministic

What it uses (nothing installed; see scripts/reference/README.md):
  * transformers' real CLIPVisionModel / CLIPConfig / CLIPImageProcessor (transformers_env.py, the v4.45 cut);
  * diffusers' real `pipelines/stable_diffusion/safety_checker.py` (diffusers_env.extract_diffusers): only that
    module and `diffusers.utils` are imported, under empty placeholder packages (as diffusers_env.load_schedulers
    does), so transformers is the real one, not diffusers_env's stub;
  * Debian's Pillow (CLIPImageProcessor resizes through PIL, bicubic).

The checker: CLIPConfig with a tiny vision tower (hidden 32, 2 layers, 4 heads, patch 8, image 32, projection 16),
seeded weights; concept_embeds (17) / special_care_embeds (3) and their thresholds are *chosen* from the images'
embeddings so that the fixture exercises every branch: images flagged directly, one flagged only because the
special-care adjustment (+0.01) pushed a concept over 0, one with special care but no concept, clean images, and one
clean image that a stricter `adjustment` (0.05) flags. Every score stays ≥ 2e-3 away from 0 so ONNX vs torch
rounding cannot flip a decision.

`adjustment` semantics (psa-web's GenerateParams.imageCheck.adjustment): the thresholds of every concept and special
concept are lowered by `adjustment` — diffusers' "increase this value to create a stronger nsfw filter" knob, applied
to both score families as forward_onnx applies its `adjustment` to the special scores; the special-care +0.01 stays.
The reference for adjustment a is diffusers' own checker with `*_embeds_weights` − a (same arithmetic).

Reference values per image and adjustment: `cos`/`specialCos` (captured from diffusers' `cosine_distance`),
`conceptScores`/`specialScores` (forward_onnx's formula on those), `hasNsfw` from diffusers' `forward_onnx` *and*
its `forward` (must agree), and `forwardResult` (forward's own per-image dict, captured with sys.setprofile: scores
rounded to 3 decimals as diffusers rounds them).
"""
import json
import os
import shutil
import sys
import tempfile
import types
import importlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import diffusers_env  # noqa: E402
import transformers_env  # noqa: E402

OUT = os.path.join(ROOT, "fixtures", "safety-checker")
SEED = 20250812
CLIP_SIZE = 32
OPSET = 14  # diffusers' convert script default (Optimum also exports this graph with torch.onnx.export)
ADJUSTMENTS = (0.0, 0.05)
MARGIN = 2e-3
QK_GAIN = 4.0
PARITY_IMAGES = ("ddim-4-noneg", "pndm-12-neg", "euler-12-noneg", "dpmpp-2m-karras-4-neg")


def load_checker_module(tmp):
    transformers, tinfo = transformers_env.load_transformers(os.path.join(tmp, "t"))
    dtmp = os.path.join(tmp, "d")
    os.makedirs(dtmp)
    commit, describe, version = diffusers_env.extract_diffusers(dtmp)
    root = os.path.join(dtmp, "src", "diffusers")
    shims = [n for n, _ in diffusers_env._shim_device_namespaces()]
    for name, path in (("diffusers", root), ("diffusers.pipelines", os.path.join(root, "pipelines")),
                       ("diffusers.pipelines.stable_diffusion", os.path.join(root, "pipelines", "stable_diffusion"))):
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        mod.__version__ = version
        sys.modules[name] = mod
    importlib.import_module("diffusers.utils")
    sc = importlib.import_module("diffusers.pipelines.stable_diffusion.safety_checker")
    dinfo = {
        "commit": commit, "describe": describe, "version": version,
        "imported": ["diffusers.utils", "diffusers.pipelines.stable_diffusion.safety_checker"],
        "bypassed": "package __init__ files of diffusers, diffusers.pipelines, diffusers.pipelines.stable_diffusion",
        "shims": shims,
        "post_init": "not called: is_transformers_version('>', '4.57.3') is False here (transformers 4.45, no dist metadata)",
    }
    return transformers, tinfo, sc, dinfo


def test_images():
    """(id, uint8 HxWx3): decoded images of the tiny parity model + seeded synthetic ones of other sizes."""
    from PIL import Image

    out = []
    for pid in PARITY_IMAGES:
        out.append(("parity-" + pid, np.array(Image.open(os.path.join(ROOT, "fixtures", "parity", "expected", pid + ".png")).convert("RGB"))))
    rng = np.random.RandomState(SEED)
    out.append(("noise-80x48", rng.randint(0, 256, size=(48, 80, 3)).astype(np.uint8)))  # landscape, downscale
    y, x = np.mgrid[0:100, 0:60]
    grad = np.stack([x * 255 // 59, y * 255 // 99, (x + y) * 255 // 158], -1).astype(np.uint8)
    out.append(("gradient-60x100", grad))  # portrait
    out.append(("noise-40x24", rng.randint(0, 256, size=(24, 40, 3)).astype(np.uint8)))  # upscale
    cb = ((np.add.outer(np.arange(64) // 8, np.arange(64) // 8) % 2) * 200 + 30).astype(np.uint8)
    out.append(("checker-64", np.stack([cb, 255 - cb, cb // 2], -1)))
    out.append(("blobs-72x72", (rng.rand(9, 9, 3).repeat(8, 0).repeat(8, 1) * 255).round().astype(np.uint8)))
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="safety-fixture-")
    stage = OUT + ".tmp"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        build(tmp, stage)
        shutil.rmtree(OUT, ignore_errors=True)
        os.rename(stage, OUT)  # readers never see a half-written fixture
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
    print("wrote", OUT)


def build(tmp, stage):
    from PIL import Image

    transformers, tinfo, sc, dinfo = load_checker_module(tmp)
    torch.manual_seed(SEED)
    config = transformers.CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=CLIP_SIZE, patch_size=8, num_channels=3, hidden_act="quick_gelu"),
        projection_dim=16,
    )
    checker = sc.StableDiffusionSafetyChecker(config).eval()
    # transformers' CLIP init (std 0.02 everywhere) makes a 2-layer tower nearly input-independent; a seeded normal
    # re-init gives images clearly different embeddings. LayerNorms keep their default gain 1 / bias 0.
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in checker.vision_model.named_parameters():
            if "layer_norm" in name or "layrnorm" in name:
                continue
            scale = 0.5 if p.dim() == 1 else 1.0 / np.sqrt(p.shape[-1])
            if "q_proj.weight" in name or "k_proj.weight" in name:
                scale *= QK_GAIN  # sharp attention: the class token then reads a few patches, not their average
            p.copy_(torch.randn(p.shape, generator=g) * scale)
        checker.visual_projection.weight.copy_(torch.randn(checker.visual_projection.weight.shape, generator=g) / np.sqrt(32))

    processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": CLIP_SIZE}, crop_size={"height": CLIP_SIZE, "width": CLIP_SIZE},
        do_resize=True, do_center_crop=True, do_rescale=True, do_normalize=True, do_convert_rgb=True, resample=3,
    )
    images = test_images()
    pixel = {iid: processor(Image.fromarray(img), return_tensors="np").pixel_values.astype(np.float32) for iid, img in images}

    # Random towers map every image near one common direction (cos ~0.95 between all test images), which leaves no
    # room for thresholds; the projection is made blind to the images' mean pooled feature so embeddings spread out.
    with torch.no_grad():
        pooled = torch.cat([checker.vision_model(torch.from_numpy(pv))[1] for pv in pixel.values()])
        mu = pooled.mean(0, keepdim=True)
        mu = mu / mu.norm()
        w = checker.visual_projection.weight
        w.copy_(w - (w @ mu.T) @ mu)
    # Normalized embeddings (diffusers' cosine_distance normalizes both sides).
    with torch.no_grad():
        emb = {iid: torch.nn.functional.normalize(checker.visual_projection(checker.vision_model(torch.from_numpy(pv))[1]))[0].numpy().astype(np.float64) for iid, pv in pixel.items()}
    ids = [iid for iid, _ in images]
    E = np.stack([emb[i] for i in ids])

    def direction(target):
        return emb[target]  # the concept *is* the target image's embedding: cos 1 there, clearly less elsewhere

    def cos_all(c):
        return E @ (c / np.linalg.norm(c))

    # The design: which image each engineered concept targets and the score it should get there.
    A, B, C, D, F = "parity-ddim-4-noneg", "noise-80x48", "parity-euler-12-noneg", "checker-64", "gradient-60x100"
    concepts = np.zeros((17, 16))
    cthr = np.zeros(17)
    special = np.zeros((3, 16))
    sthr = np.zeros(3)
    rng = np.random.RandomState(SEED + 2)

    def place(vec, target, score, others_below):
        """Threshold so `target` scores `score`; fails if another image would score ≥ others_below."""
        cs = cos_all(vec)
        thr = cs[ids.index(target)] - score
        rest = np.delete(cs - thr, ids.index(target))
        if rest.max() >= others_below:
            raise SystemExit(f"concept aimed at {target}: another image scores {rest.max():.4f} (design needs < {others_below})")
        return thr

    concepts[0] = direction(A); cthr[0] = place(concepts[0], A, 0.03, -0.08)   # A: flagged outright
    concepts[1] = direction(B); cthr[1] = place(concepts[1], B, 0.015, -0.08)  # B: flagged outright
    concepts[2] = direction(C); cthr[2] = place(concepts[2], C, -0.004, -0.08)  # C: flagged only with special care
    concepts[3] = direction(F); cthr[3] = place(concepts[3], F, -0.03, -0.08)  # F: clean, flagged at adjustment 0.05
    special[0] = direction(C); sthr[0] = place(special[0], C, 0.02, -0.08)     # special care on C ...
    special[1] = direction(D); sthr[1] = place(special[1], D, 0.01, -0.08)     # ... and on D (no concept: clean)
    for k in range(4, 17):  # the rest: random directions that never fire, even at adjustment 0.05
        concepts[k] = rng.randn(16); cthr[k] = cos_all(concepts[k]).max() + 0.1 + 0.01 * k
    special[2] = rng.randn(16); sthr[2] = cos_all(special[2]).max() + 0.12
    with torch.no_grad():
        checker.concept_embeds.copy_(torch.from_numpy(concepts * 1.7))  # scale is irrelevant (normalized)
        checker.special_care_embeds.copy_(torch.from_numpy(special * 0.8))
        checker.concept_embeds_weights.copy_(torch.from_numpy(cthr))
        checker.special_care_embeds_weights.copy_(torch.from_numpy(sthr))
    w0 = (checker.concept_embeds_weights.clone(), checker.special_care_embeds_weights.clone())

    # Capture diffusers' own intermediates: cosine_distance's results, and forward()'s per-image dicts.
    captured = []
    orig_cos = sc.cosine_distance

    def recording_cosine_distance(a, b):
        out = orig_cos(a, b)
        captured.append(out.detach().clone())
        return out

    sc.cosine_distance = recording_cosine_distance
    forward_code = sc.StableDiffusionSafetyChecker.forward.__wrapped__.__code__
    forward_results = []

    def profiler(frame, event, arg):
        if event == "return" and frame.f_code is forward_code:
            forward_results.append(json.loads(json.dumps(frame.f_locals["result"], default=lambda s: sorted(map(float, s)))))

    records = []
    for iid, img in images:
        rec = {"id": iid, "file": f"images/{iid}.png", "width": int(img.shape[1]), "height": int(img.shape[0]),
               "clipInput": f"clip-input/{iid}.npy", "byAdjustment": {}}
        images_f = torch.from_numpy(img.astype(np.float32) / 255.0)[None]
        for a in ADJUSTMENTS:
            with torch.no_grad():
                checker.concept_embeds_weights.copy_(w0[0] - a)
                checker.special_care_embeds_weights.copy_(w0[1] - a)
            clip_input = torch.from_numpy(pixel[iid])
            captured.clear()
            _, nsfw_onnx = checker.forward_onnx(clip_input, images_f.clone())
            special_cos, cos = captured[0][0].double().numpy(), captured[1][0].double().numpy()
            captured.clear()
            sys.setprofile(profiler)
            try:
                _, nsfw_fwd = checker(clip_input=clip_input, images=images_f.clone())
            finally:
                sys.setprofile(None)
            fres = forward_results.pop()[0]
            special_scores = special_cos - sthr + a
            care = bool((special_scores > 0).any())
            concept_scores = cos - cthr + a + (0.01 if care else 0.0)
            assert bool(nsfw_onnx[0]) == bool(nsfw_fwd[0]) == bool((concept_scores > 0).any()), iid
            closest = float(np.abs(np.concatenate([special_scores, concept_scores])).min())
            if closest < MARGIN:
                raise SystemExit(f"{iid} at adjustment {a}: a score is {closest:.2e} from 0 (< {MARGIN}); change the design")
            rec["byAdjustment"]["%g" % a] = {
                "cos": cos.tolist(), "specialCos": special_cos.tolist(),
                "conceptScores": concept_scores.tolist(), "specialScores": special_scores.tolist(),
                "specialCare": care, "hasNsfw": bool(nsfw_onnx[0]), "hasNsfwForward": bool(nsfw_fwd[0]),
                "forwardResult": fres,
            }
        records.append(rec)
    sc.cosine_distance = orig_cos
    with torch.no_grad():
        checker.concept_embeds_weights.copy_(w0[0])
        checker.special_care_embeds_weights.copy_(w0[1])

    outcome = {r["id"]: [r["byAdjustment"]["%g" % a]["hasNsfw"] for a in ADJUSTMENTS] for r in records}
    want = {A: [True, True], B: [True, True], C: [True, True], D: [False, False], F: [False, True]}
    for k, v in want.items():
        if outcome[k] != v:
            raise SystemExit(f"design not met for {k}: {outcome[k]} (wanted {v})")

    os.makedirs(os.path.join(stage, "images"))
    os.makedirs(os.path.join(stage, "clip-input"))
    for iid, img in images:
        Image.fromarray(img).save(os.path.join(stage, "images", iid + ".png"), optimize=False)
        np.save(os.path.join(stage, "clip-input", iid + ".npy"), pixel[iid])
    processor.save_pretrained(stage)  # preprocessor_config.json, as in an SD1.5 feature_extractor/ folder
    config.save_pretrained(stage)  # config.json, as in an SD1.5 safety_checker/ folder

    # The export, exactly as diffusers' convert script does it (forward = forward_onnx, same names and axes).
    checker.forward = checker.forward_onnx
    with torch.no_grad():
        torch.onnx.export(
            checker,
            (torch.randn(1, 3, CLIP_SIZE, CLIP_SIZE, generator=torch.Generator().manual_seed(1)),
             torch.randn(1, 64, 64, 3, generator=torch.Generator().manual_seed(2))),
            os.path.join(stage, "model.onnx"),
            input_names=["clip_input", "images"],
            output_names=["out_images", "has_nsfw_concepts"],
            dynamic_axes={"clip_input": {0: "batch", 1: "channels", 2: "height", 3: "width"},
                          "images": {0: "batch", 1: "height", 2: "width", 3: "channels"}},
            do_constant_folding=True,
            opset_version=OPSET,
        )

    expected = {
        "sources": {"diffusers": dinfo, "transformers": tinfo, "pillow": __import__("PIL").__version__, "numpy": np.__version__},
        "export": {"opset": OPSET, "inputs": ["clip_input", "images"], "outputs": ["out_images", "has_nsfw_concepts"],
                   "how": "torch.onnx.export of forward_onnx as diffusers' scripts/convert_stable_diffusion_checkpoint_to_onnx.py"},
        "checker": {"conceptCount": 17, "specialCount": 3, "projectionDim": 16, "clipSize": CLIP_SIZE,
                    "conceptThresholds": cthr.tolist(), "specialThresholds": sthr.tolist(), "specialCareBump": 0.01},
        "adjustments": list(ADJUSTMENTS),
        "adjustmentSemantics": "every threshold lowered by `adjustment` (reference: diffusers' checker with *_embeds_weights - adjustment)",
        "design": {"flagged": [A, B], "flaggedOnlyBySpecialCare": C, "specialCareButClean": D, "flaggedOnlyWhenStricter": F},
        "images": records,
    }
    with open(os.path.join(stage, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
