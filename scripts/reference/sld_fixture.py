#!/usr/bin/python3
"""Build fixtures/sld: diffusers' own StableDiffusionPipelineSafe (Safe Latent Diffusion) on the tiny parity model.

    /usr/bin/python3 scripts/reference/sld_fixture.py               # from the repo root; rewrites fixtures/sld/

The model is fixtures/parity/bundle's: its torch modules are rebuilt from the seed by parity_fixture.build_modules
(the same code that exported the bundle) and checked against fixtures/parity/onnx-check's recorded torch outputs, so
psa-web runs the committed ONNX bundle and diffusers runs the same weights. diffusers comes from the git mirror via
diffusers_env (DIFFUSERS_MIRROR / DIFFUSERS_REF), nothing installed. What runs is diffusers' unmodified
`StableDiffusionPipelineSafe.__call__` (the SLD loop), with presets taken from diffusers' own `SafetyConfig`.

The pipeline tokenizes text itself (it has no prompt_embeds argument), so the parity CLIP tokenizer is wrapped in the
small part of transformers' CLIPTokenizer call interface `_encode_prompt` uses (HFStyleTokenizer below).
"""
import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from types import SimpleNamespace

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import diffusers_env  # noqa: E402
import parity_fixture as pf  # noqa: E402
from diffusers_env import SD15_SCHEDULER_CONFIG  # noqa: E402
from parity_clip_tokenizer import write_tokenizer_folder  # noqa: E402

PARITY = os.path.join(ROOT, "fixtures", "parity")
STEPS = 20  # > every preset's warm-up (15 / 10 / 7 / 0), so warm-up and momentum both matter
SCHEDULERS = {"ddim": ("DDIMScheduler", {}), "dpmpp-2m": ("DPMSolverMultistepScheduler", {})}
PRESETS = ("WEAK", "MEDIUM", "STRONG", "MAX")
# ddim cases use diffusers' default safety concept (concept null: what `--sld` alone must reproduce); dpmpp-2m cases
# set their own concept (as `--safety-concept` / a profile does) and a negative prompt (row 0 is then not "").
OWN_CONCEPT = "an image showing violence, suffering, harm, blood, weapons, brutality, cruelty"
NEGATIVE = "blurry, low quality"
BOS, EOS = 49406, 49407


class HFStyleTokenizer:
    """What StableDiffusionPipelineSafe._encode_prompt calls on transformers' CLIPTokenizer, over the parity
    tokenizer: __call__(text | [text], padding="max_length", max_length, truncation, return_tensors="pt") →
    .input_ids [B, L] int64 (BOS + tokens + EOS, padded with EOS as SD1.5's tokenizer pads), .attention_mask;
    model_max_length 77; batch_decode (only for the pipeline's truncation warning)."""

    model_max_length = 77

    def __init__(self, tok):
        self.tok = tok
        self.decoder = {v: k for k, v in tok.encoder.items()}

    def __call__(self, text, padding="max_length", max_length=None, truncation=False, return_tensors="pt"):
        assert padding == "max_length" and return_tensors == "pt", (padding, return_tensors)
        length = max_length or self.model_max_length
        rows, masks = [], []
        for t in [text] if isinstance(text, str) else list(text):
            body = self.tok.encode(t)
            if truncation:
                body = body[: length - 2]
            ids = [BOS] + body + [EOS]
            masks.append([1] * len(ids) + [0] * max(0, length - len(ids)))
            rows.append(ids + [EOS] * max(0, length - len(ids)))
        return SimpleNamespace(input_ids=torch.tensor(rows, dtype=torch.int64), attention_mask=torch.tensor(masks, dtype=torch.int64))

    def batch_decode(self, ids):
        return [" ".join(self.decoder.get(int(i), "?") for i in row) for row in ids]


def check_modules(te, unet, vae):
    """The rebuilt modules reproduce the parity fixture's recorded torch outputs (so they are the bundle's weights).
    Exact equality is not expected across machines (CPU kernels round differently at the last bit)."""
    with open(os.path.join(PARITY, "onnx-check", "check.json")) as f:
        check = json.load(f)
    mods = {"text_encoder": pf.TextEncoderExport(te), "unet": pf.UNetExport(unet), "vae_decoder": pf.VaeDecoderExport(vae)}
    worst = {}
    for entry in check["models"]:
        name = entry["model"].split("/")[1]
        ins = [torch.from_numpy(np.load(os.path.join(PARITY, p))) for p in entry["inputs"].values()]
        with torch.no_grad():
            outs = mods[name](*ins)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        for o, p in zip(outs, entry["outputs"].values()):
            ref = np.load(os.path.join(PARITY, p))
            d = float(np.abs(o.numpy().astype(np.float64) - ref).max())
            scale = float(np.abs(ref).max())
            assert d <= 1e-5 * max(1.0, scale), f"{entry['model']} {p}: rebuilt module differs by {d} (not the bundle's weights?)"
            worst[name] = max(worst.get(name, 0.0), d)
    return {k: float(f"{v:.3g}") for k, v in worst.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "sld"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)

    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    tmp = tempfile.mkdtemp(prefix="sld-diffusers-")
    diffusers, dinfo = diffusers_env.load_diffusers(tmp)
    print(f"diffusers {dinfo['version']} @ {dinfo['commit']} ({dinfo['describe']}), torch {torch.__version__}")
    from diffusers import AutoencoderKL, UNet2DConditionModel
    import diffusers.schedulers as dsched
    from diffusers.pipelines.deprecated.stable_diffusion_safe import SafetyConfig, StableDiffusionPipelineSafe
    from PIL import Image

    tok = write_tokenizer_folder(os.path.join(tmp, "tokenizer"), ROOT)
    te, unet, vae = pf.build_modules(UNet2DConditionModel, AutoencoderKL)
    module_check = check_modules(te, unet, vae)
    print(f"rebuilt modules vs fixtures/parity/onnx-check: max |diff| {module_check}")

    # _encode_prompt reads text_encoder.config.use_attention_mask; SD1.5's CLIPTextConfig has none (no mask passed).
    te.config = SimpleNamespace()
    base_sched = dsched.PNDMScheduler.from_config(SD15_SCHEDULER_CONFIG)
    pipe = StableDiffusionPipelineSafe(
        vae=vae,
        text_encoder=te,
        tokenizer=HFStyleTokenizer(tok),
        unet=unet,
        scheduler=base_sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    default_concept = pipe.safety_concept
    presets = {p: dict(getattr(SafetyConfig, p)) for p in PRESETS}

    # Built in a temp folder beside the fixture and swapped in at the end (readers never see half of one); a failed
    # run leaves nothing behind.
    stage = tempfile.mkdtemp(prefix=".sld-fixture-", dir=os.path.dirname(out))
    try:
        build(pipe, unet, stage, out, default_concept, presets, dinfo, module_check, base_sched, dsched, Image)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build(pipe, unet, stage, out, default_concept, presets, dinfo, module_check, base_sched, dsched, Image):
    os.makedirs(os.path.join(stage, "latents"))
    os.makedirs(os.path.join(stage, "expected"))

    def run(concept, negative, lat, sld, unet_hook=None):
        pipe.safety_concept = concept
        captured = {"unetBatches": []}

        def count(mod, a):
            captured["unetBatches"].append(int(a[0].shape[0]))

        def on_step(i, t, latents):
            captured["latents"] = latents.detach().clone()
            captured.setdefault("timesteps", []).append(int(t))

        hooks = [unet.register_forward_pre_hook(count)] + ([unet_hook()] if unet_hook else [])
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Safety checker disabled!" for the noSld diagnostic
                res = pipe(
                    prompt=pf.PROMPT,
                    negative_prompt=negative,
                    num_inference_steps=STEPS,
                    guidance_scale=pf.GUIDANCE,
                    height=pf.HEIGHT,
                    width=pf.WIDTH,
                    latents=lat.clone(),
                    output_type="np",
                    callback=on_step,
                    callback_steps=1,
                    **sld,
                )
        finally:
            for h in hooks:
                h.remove()
        u8 = (res.images * 255).round().astype("uint8")  # diffusers' numpy_to_pil
        return u8, captured, res.applied_safety_concept

    def diff(a, b):
        d = np.abs(a.astype(np.int16) - b.astype(np.int16))
        return {"maxPixelDiff": int(d.max()), "meanPixelDiff": round(float(d.mean()), 4)}

    def ids(text):
        return pipe.tokenizer(text, padding="max_length", max_length=77, truncation=True).input_ids[0].tolist()

    cases = []
    case_no = 0
    for sname, (cls_name, extra) in SCHEDULERS.items():
        for preset in PRESETS:
            case_no += 1
            cid = f"{sname}-{preset.lower()}"
            pipe.scheduler = getattr(dsched, cls_name).from_config(base_sched.config, **extra)
            own = sname != "ddim"
            concept = OWN_CONCEPT if own else default_concept
            negative = NEGATIVE if own else None
            seed = 2000 + case_no
            lat = torch.randn((1, 4, pf.HEIGHT // 8, pf.WIDTH // 8), generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
            sld = presets[preset]
            u8, cap, applied = run(concept, negative, lat, sld)
            assert applied == concept, (applied, concept)
            assert cap["unetBatches"] == [3] * STEPS, cap["unetBatches"]

            # Diagnostics: how far 1e-6 noise on each unet output moves the image (the ORT-vs-torch scale), and how
            # much SLD changed the image at all (sld_guidance_scale 0 disables it: plain CFG, batch 2).
            g = torch.Generator().manual_seed(99)

            def noise_hook():
                def post(mod, a, o):
                    s = o[0] if isinstance(o, tuple) else o.sample
                    s.add_(torch.randn(s.shape, generator=g) * 1e-6)
                    return o

                return unet.register_forward_hook(post)

            p_u8, p_cap, _ = run(concept, negative, lat, sld, noise_hook)
            n_u8, n_cap, n_applied = run(concept, negative, lat, {**sld, "sld_guidance_scale": 0})
            assert n_applied is None and n_cap["unetBatches"] == [2] * STEPS
            sens = {
                "perturb1e-6": {**diff(p_u8, u8), "maxLatentDiff": float(f"{(p_cap['latents'] - cap['latents']).abs().max().item():.3g}")},
                "noSld": diff(n_u8, u8),
            }
            Image.fromarray(u8[0]).save(os.path.join(stage, "expected", f"{cid}.png"))
            pf.save_npy(os.path.join(stage, "latents", f"{cid}.npy"), lat.numpy())
            pf.save_npy(os.path.join(stage, "expected", f"{cid}.latents.npy"), cap["latents"].numpy().astype(np.float32))
            clipped = float(np.mean((u8 == 0) | (u8 == 255)))
            print(f"{cid:18s} std={u8.std():.1f} clipped={clipped:.3f} {sens}")
            assert u8.std() > 5 and clipped < 0.5, "degenerate image"
            cases.append(
                {
                    "id": cid,
                    "scheduler": sname,
                    "preset": preset.lower(),
                    "sld": sld,
                    "steps": STEPS,
                    "guidance": pf.GUIDANCE,
                    "prompt": pf.PROMPT,
                    "negative": negative,
                    "concept": concept if own else None,
                    "appliedConcept": applied,
                    "width": pf.WIDTH,
                    "height": pf.HEIGHT,
                    "seed": seed,
                    "latents": f"latents/{cid}.npy",
                    "expected": f"expected/{cid}.png",
                    "expectedLatents": f"expected/{cid}.latents.npy",
                    "promptIds": ids(pf.PROMPT),
                    "negativeIds": ids(negative or ""),
                    "conceptIds": ids(concept),
                    "timesteps": cap["timesteps"],
                    "unetBatches": cap["unetBatches"],
                    "sensitivity": sens,
                    "schedulerConfig": {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")},
                }
            )

    meta = {
        "description": "diffusers StableDiffusionPipelineSafe (SLD) reference outputs for the tiny ONNX bundle in ../parity/bundle",
        "diffusers": {"version": dinfo["version"], "commit": dinfo["commit"], "describe": dinfo["describe"], "patches": dinfo["patches"]},
        "pipeline": "diffusers.pipelines.deprecated.stable_diffusion_safe.StableDiffusionPipelineSafe.__call__",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "bundle": "../parity/bundle",
        "moduleCheck": {"against": "fixtures/parity/onnx-check", "maxAbsDiff": module_check},
        "safetyConfig": presets,
        "defaultConcept": default_concept,
        "notes": [
            "safetyConfig: diffusers' SafetyConfig presets, passed as **kwargs to __call__ (sld_* names)",
            "concept null: the pipeline's own default safety concept (defaultConcept) was used",
            "negative null: diffusers encodes '' for row 0; negativeIds shows those ids",
            "unetBatches: the unet's batch per call (3 = [negative, prompt, safety concept] with SLD on)",
            "latents/*.npy: float32 [1,4,H/8,W/8] standard-normal draws passed as `latents=`",
            "expected/*.png: output_type='np' -> (img*255).round().astype(uint8), as diffusers numpy_to_pil",
            "expected/*.latents.npy: latents after the last scheduler step, before / scaling_factor and the VAE",
            "sensitivity.perturb1e-6: |uint8 diff| when every unet output gets N(0,1e-6) noise (ORT vs torch scale); "
            "sensitivity.noSld: |uint8 diff| from the same call with sld_guidance_scale=0 (plain CFG): what SLD changed",
        ],
        "cases": cases,
    }
    # Strict JSON (JavaScript's JSON.parse rejects Infinity/NaN): non-finite config values become strings, as in parity.
    def finite(o):
        if isinstance(o, float) and not math.isfinite(o):
            return str(o)
        if isinstance(o, dict):
            return {k: finite(v) for k, v in o.items()}
        if isinstance(o, list):
            return [finite(v) for v in o]
        return o

    text = json.dumps(finite(meta), indent=2, allow_nan=False)
    text = re.sub(r"\[\s*(-?[0-9.e+-]+(?:,\s*-?[0-9.e+-]+)*)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    json.loads(text)
    with open(os.path.join(stage, "cases.json"), "w") as f:
        f.write(text + "\n")
    # Swap the finished fixture in (readers never see half of one).
    old = None
    if os.path.isdir(out):
        old = out + ".old"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out, old)
    os.rename(stage, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    print(f"fixture size: {pf.dir_size(out) / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
