#!/usr/bin/python3
"""Build fixtures/convert: inputs and reference outputs for `npm run convert` (SD1.5 ONNX + PSA checkpoint → bundle).

    /usr/bin/python3 scripts/reference/psa_convert_fixture.py          # from the repo root; ~15 s, deterministic
    /usr/bin/python3 scripts/reference/psa_convert_fixture.py --synthetic-sd15 /tmp/sd15-full   # ~4 GB, full size

Made outside the TypeScript converter, from diffusers' own UNet2DConditionModel (git mirror, see diffusers_env.py) and
real torch.save. Needs Debian's python3-torch, numpy and python3-onnx (only to move the exported weights into one
external-data file, as Optimum does with onnx.save_model(save_as_external_data=True)).

What it writes (fixtures/convert/, ~2 MB):
- unet/model.onnx, config.json         plain tiny SD1.5-shaped U-Net, torch.onnx.export, weights inline; diffusers config
- unet-external/model.onnx(+_data)     the same graph, every initializer in model.onnx_data (Optimum's naming)
- unet-weights-pb/model.onnx(+weights.pb)  the same, tensors > 1 KB in weights.pb (the older Optimum naming)
- unet-no-cross-attention/model.onnx   a UNet2DConditionModel with no attn2 at all (bad input)
- psa_adapter.bin                      torch.save({"psa_adapter": ModuleList(...).state_dict(), "user_proj": ...}) fp32
- psa_adapter.fp16.bin                 the same tensors stored as float16 (PSAAdapter runs the adapter in fp16)
- psa_adapter.safetensors              "user_proj." / "psa_adapter." prefixed keys, fp32
- psa_adapter.bf16.safetensors         the same in bfloat16
  (the safetensors package is not installed here: the format — 8-byte little-endian header length, JSON header
  {name: {dtype, shape, data_offsets}}, padded with spaces to 8 bytes, then raw little-endian bytes — is written by
  hand in write_safetensors below.) All weights are rounded to bfloat16-representable values first, so the four
  files hold exactly the same numbers and one reference covers them.
- bad/truncated.bin                    the first 60 % of psa_adapter.bin
- bad/sdxl_shaped.bin                  cross-attention width 32 (≠ 16), wider layers and 7 processors
- bad/wrong_width.bin, extra_layer.bin  width 24 where layer 2 is 16 wide; 5 processors for 4 layers
- expected.json, ref/*.npy             inputs, user tokens, U-Net outputs for psa_scale 0, 0.5, 1, 3 and the plain U-Net

The reference is a direct PyTorch computation of PSA's attention processor, ported from PSAlign's maths
(psa_adapter/attention_processor.py: text attention over the first S-U tokens, plus psa_scale × softmax(q k_u^T /
sqrt(d)) v_u per user token group, added before to_out), not its code, installed on diffusers' own attn2 modules.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import diffusers_env  # noqa: E402

SEED = 20250802
CROSS = 16  # = the parity fixture's text encoder width, so the converted bundle can reuse its text encoder
EMBED = 20  # "profile encoder" hidden size (3584 for Qwen2.5-7B)
USER_TOKENS = 1
SCALES = (0.0, 0.5, 1.0, 3.0)

UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(16, 24),
    layers_per_block=1,
    cross_attention_dim=CROSS,
    attention_head_dim=2,  # diffusers' legacy name: 2 heads
    norm_num_groups=8,
)
NO_CROSS_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("DownBlock2D",),
    up_block_types=("UpBlock2D",),
    block_out_channels=(16,),
    layers_per_block=1,
    cross_attention_dim=CROSS,
    mid_block_type=None,
    norm_num_groups=8,
)


def bf16_round(t):
    return t.to(torch.bfloat16).to(torch.float32)


def perturb(module, gen):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif p.ndim == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.2)
            if "attn2.to_q" in name or "attn2.to_k" in name:
                p.mul_(3.0)


class UNetExport(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]


class PsaProcessorParams(nn.Module):
    """PSAlign's PSAAttnProcessor2_0 parameter layout: to_k_user / to_v_user are ModuleLists of bias-free
    Linear(cross_attention_dim → hidden_size), one per user-token group (one group with num_tokens=1)."""

    def __init__(self, hidden, cross, groups=1):
        super().__init__()
        self.to_k_user = nn.ModuleList([nn.Linear(cross, hidden, bias=False) for _ in range(groups)])
        self.to_v_user = nn.ModuleList([nn.Linear(cross, hidden, bias=False) for _ in range(groups)])


class UserProj(nn.Module):
    """PSAlign's PSAProjection layout: proj = Linear(E → U·D), norm = LayerNorm(D)."""

    def __init__(self, d, e, u):
        super().__init__()
        self.d, self.u = d, u
        self.proj = nn.Linear(e, u * d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(self.proj(x).reshape(-1, self.u, self.d))


class PsaReferenceProcessor:
    """PSA's attention maths on a diffusers Attention module (ported, not PSAlign's code):
    the last U tokens of encoder_hidden_states are user tokens; text attention over the rest; for each group g,
    + scale * softmax(q · to_k_user[g](u_g)^T / sqrt(d_head)) · to_v_user[g](u_g), before to_out."""

    def __init__(self, params, user_tokens, scale):
        self.p, self.u, self.scale = params, user_tokens, scale

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *a, **k):
        b, n, _ = hidden_states.shape
        text = encoder_hidden_states[:, : encoder_hidden_states.shape[1] - self.u]
        user = encoder_hidden_states[:, encoder_hidden_states.shape[1] - self.u:]
        h = attn.heads

        def heads(x):
            return x.reshape(b, x.shape[1], h, x.shape[2] // h).permute(0, 2, 1, 3)

        def attend(q, k, v):
            d = q.shape[-1]
            w = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1)
            return (w @ v).permute(0, 2, 1, 3).reshape(b, n, -1)

        q = heads(attn.to_q(hidden_states))
        out = attend(q, heads(attn.to_k(text)), heads(attn.to_v(text)))
        for g, (tk, tv) in enumerate(zip(self.p.to_k_user, self.p.to_v_user)):
            if user.shape[1] <= g:
                continue
            ug = user[:, g: g + 1]
            out = out + self.scale * attend(q, heads(tk(ug)), heads(tv(ug)))
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor


def write_safetensors(path, tensors, metadata):
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def export_onnx(module, path, ehs_width):
    g = torch.Generator().manual_seed(1)
    args = (torch.randn(2, 4, 8, 8, generator=g), torch.tensor([501], dtype=torch.int64), torch.randn(2, 77, ehs_width, generator=g))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module, args, path,
            input_names=["sample", "timestep", "encoder_hidden_states"],
            output_names=["out_sample"],
            dynamic_axes={
                "sample": {0: "batch_size", 2: "height", 3: "width"},
                "timestep": {0: "steps"},
                "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
                "out_sample": {0: "batch_size", 2: "height", 3: "width"},
            },
            opset_version=17,
            do_constant_folding=True,
        )


def externalize(src, dst_dir, location, size_threshold):
    import onnx

    m = onnx.load(src)
    os.makedirs(dst_dir, exist_ok=True)
    onnx.save_model(m, os.path.join(dst_dir, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=size_threshold)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


SD15_UNET_CONFIG = dict(  # runwayml/stable-diffusion-v1-5 unet/config.json (the keys that set shapes)
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
)


SD15_VAE_CONFIG = dict(  # runwayml/stable-diffusion-v1-5 vae/config.json (the keys that set shapes)
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32,
    sample_size=512, scaling_factor=0.18215,
)
SD15_TEXT_CONFIG = dict(  # runwayml/stable-diffusion-v1-5 text_encoder/config.json (CLIP ViT-L/14's text tower)
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=768,
    bos_token_id=0, eos_token_id=2, pad_token_id=1,
)


def synthetic_sd15(out):
    """A full-size synthetic SD1.5 in Optimum's ONNX layout (random weights, real shapes and module names), the input
    `npm run convert` takes: unet/ (model.onnx + one model.onnx_data, 3.4 GB), text_encoder/ (transformers'
    CLIPTextModel, 123 M parameters), vae_decoder/ (diffusers' AutoencoderKL decoder), tokenizer/ (CLIP's real
    vocabulary and merges), scheduler/, model_index.json, plus a PSA checkpoint with SD1.5's shapes (16 processors,
    E = 3584) — for measuring the converter and the browser on the real sizes (e2e/measure/full-size.spec.ts). Not
    committed (~4 GB). No safety_checker/: the real one is CLIP ViT-L/14 (1.2 GB) and the app loads it only for
    profiles that ask for an image check. Parts already written (each folder's files) are kept, so an interrupted
    run resumes; the text encoder is exported in a child process because diffusers_env fakes `transformers`."""
    os.makedirs(out, exist_ok=True)
    if os.path.exists(os.path.join(out, "unet", "config.json")) and os.path.exists(os.path.join(out, "psa_adapter.bin")):
        print(f"{out}/unet: kept")
    else:
        synthetic_sd15_unet(out)
    if os.path.exists(os.path.join(out, "text_encoder", "config.json")):
        print(f"{out}/text_encoder: kept")
    else:
        import subprocess
        subprocess.run([sys.executable, os.path.abspath(__file__), "--synthetic-text-encoder", out], check=True)
    synthetic_sd15_rest(out)


def synthetic_text_encoder(out):
    """transformers' own CLIPTextModel at SD1.5's config, exported as Optimum does (input_ids int32 →
    last_hidden_state, pooler_output; batch and sequence dynamic), weights inline (492 MB < protobuf's 2 GB)."""
    tmp = tempfile.mkdtemp(prefix="sd15-text-")
    import transformers_env
    transformers, tinfo = transformers_env.load_transformers(tmp)
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(SEED + 1)
    cfg = CLIPTextConfig(**SD15_TEXT_CONFIG)
    te = CLIPTextModel(cfg).eval()
    print(f"SD1.5-shaped text encoder: {sum(p.numel() for p in te.parameters()) / 1e6:.1f} M parameters (transformers {tinfo['version']})")

    class Export(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            o = self.m(input_ids=input_ids, return_dict=False)
            return o[0], o[1]

    stage = os.path.join(tmp, "text_encoder")
    os.makedirs(stage)
    ids = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * 70], dtype=torch.int32)
    with torch.no_grad():
        torch.onnx.export(Export(te), (ids,), os.path.join(stage, "model.onnx"), input_names=["input_ids"],
                          output_names=["last_hidden_state", "pooler_output"],
                          dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                        "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}},
                          opset_version=17, do_constant_folding=True)
    c = {"architectures": ["CLIPTextModel"], **json.loads(cfg.to_json_string()), "transformers_version": tinfo["version"]}
    with open(os.path.join(stage, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    dst = os.path.join(out, "text_encoder")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.move(stage, dst)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {dst}")


def synthetic_sd15_rest(out):
    """diffusers' AutoencoderKL decoder at SD1.5's config (vae_decoder/, latent_sample → sample, as Optimum names
    them), the CLIP tokenizer folder, SD1.5's scheduler config and an Optimum model_index.json."""
    tmp = tempfile.mkdtemp(prefix="sd15-rest-")
    diffusers, dinfo = diffusers_env.load_diffusers(tmp)
    from diffusers import AutoencoderKL
    from parity_clip_tokenizer import write_tokenizer_folder

    if os.path.exists(os.path.join(out, "vae_decoder", "config.json")):
        print(f"{out}/vae_decoder: kept")
    else:
        torch.manual_seed(SEED + 2)
        vae = AutoencoderKL(**SD15_VAE_CONFIG).eval()

        class Decode(nn.Module):
            def __init__(self, v):
                super().__init__()
                self.v = v

            def forward(self, latent_sample):
                return self.v.decode(latent_sample, return_dict=False)[0]

        stage = os.path.join(tmp, "vae_decoder")
        os.makedirs(stage)
        with torch.no_grad():
            torch.onnx.export(Decode(vae), (torch.randn(1, 4, 64, 64),), os.path.join(stage, "model.onnx"),
                              input_names=["latent_sample"], output_names=["sample"],
                              dynamic_axes={"latent_sample": {0: "batch_size", 2: "height", 3: "width"},
                                            "sample": {0: "batch_size", 2: "height", 3: "width"}},
                              opset_version=17, do_constant_folding=True)
        with open(os.path.join(stage, "config.json"), "w") as f:
            f.write(vae.to_json_string())
        dst = os.path.join(out, "vae_decoder")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.move(stage, dst)
        print(f"wrote {dst}: {sum(p.numel() for p in vae.decoder.parameters()) / 1e6:.1f} M decoder parameters")
    write_tokenizer_folder(os.path.join(out, "tokenizer"), ROOT)
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(diffusers_env.SD15_SCHEDULER_CONFIG, f, indent=2)
    model_index = {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": dinfo["version"],
        "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": [None, None],
    }
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(model_index, f, indent=2)
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({total / 1e9:.2f} GB)")


def synthetic_sd15_unet(out):
    """The U-Net in Optimum's layout (unet/model.onnx + one unet/model.onnx_data) and the PSA checkpoint."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo

    tmp = tempfile.mkdtemp(prefix="sd15-synthetic-")
    diffusers_env.load_diffusers(tmp)
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor

    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**SD15_UNET_CONFIG).eval()
    unet.set_attn_processor(AttnProcessor())
    print(f"SD1.5-shaped U-Net: {sum(p.numel() for p in unet.parameters()) / 1e6:.1f} M parameters")
    raw = os.path.join(tmp, "export")
    export_onnx(UNetExport(unet).eval(), os.path.join(raw, "model.onnx"), 768)  # > 2 GB: torch writes one file per tensor
    unet_dir = os.path.join(out, "unet")
    os.makedirs(unet_dir, exist_ok=True)
    m = onnx.load(os.path.join(raw, "model.onnx"), load_external_data=False)
    off = 0
    with open(os.path.join(unet_dir, "model.onnx_data"), "wb") as f:  # concatenate, as Optimum's single data file
        for t in m.graph.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            info = ExternalDataInfo(t)
            with open(os.path.join(raw, info.location), "rb") as src:
                src.seek(info.offset or 0)
                data = src.read(info.length) if info.length else src.read()
            f.write(data)
            del t.external_data[:]
            for k, v in (("location", "model.onnx_data"), ("offset", str(off)), ("length", str(len(data)))):
                e = t.external_data.add()
                e.key, e.value = k, v
            off += len(data)
    onnx.save(m, os.path.join(unet_dir, "model.onnx"))
    with open(os.path.join(unet_dir, "config.json"), "w") as f:
        f.write(unet.to_json_string())
    names = [n[: -len(".processor")] for n in unet.attn_processors.keys() if not n.endswith("attn1.processor")]
    modules = dict(unet.named_modules())
    procs = nn.ModuleList([PsaProcessorParams(modules[n].to_out[0].out_features, 768) for n in names])
    torch.save({"psa_adapter": procs.state_dict(), "user_proj": UserProj(768, 3584, 1).state_dict()}, os.path.join(out, "psa_adapter.bin"))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out}: unet/model.onnx_data {off / 1e9:.2f} GB, {len(names)} PSA processors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "convert"))
    ap.add_argument("--synthetic-sd15", metavar="DIR", help="write a full-size synthetic SD1.5 ONNX export + PSA checkpoint to DIR instead")
    ap.add_argument("--synthetic-text-encoder", metavar="DIR", help=argparse.SUPPRESS)  # child process of --synthetic-sd15
    args = ap.parse_args()
    if args.synthetic_text_encoder:
        return synthetic_text_encoder(os.path.abspath(args.synthetic_text_encoder))
    if args.synthetic_sd15:
        return synthetic_sd15(os.path.abspath(args.synthetic_sd15))
    out = os.path.abspath(args.out)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    tmp = tempfile.mkdtemp(prefix="psa-convert-")
    stage = os.path.join(tmp, "stage")
    os.makedirs(os.path.join(stage, "bad"))
    os.makedirs(os.path.join(stage, "ref"))
    diffusers, dinfo = diffusers_env.load_diffusers(tmp)
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    perturb(unet, gen)
    unet.set_attn_processor(AttnProcessor())  # torch 1.13 has no SDPA; the plain maths, as Optimum's fp32 graph

    # ---- plain U-Net exports ----
    export_onnx(UNetExport(unet).eval(), os.path.join(stage, "unet", "model.onnx"), CROSS)
    externalize(os.path.join(stage, "unet", "model.onnx"), os.path.join(stage, "unet-external"), "model.onnx_data", 0)
    externalize(os.path.join(stage, "unet", "model.onnx"), os.path.join(stage, "unet-weights-pb"), "weights.pb", 1024)
    for d in ("unet", "unet-external", "unet-weights-pb"):  # Optimum writes the diffusers config next to the model
        with open(os.path.join(stage, d, "config.json"), "w") as f:
            f.write(unet.to_json_string())
    no_cross = UNet2DConditionModel(**NO_CROSS_CONFIG).eval()
    assert not any(n.endswith("attn2") for n, _ in no_cross.named_modules())
    export_onnx(UNetExport(no_cross).eval(), os.path.join(stage, "unet-no-cross-attention", "model.onnx"), CROSS)

    # ---- PSA checkpoint in PSAlign's layout ----
    # ModuleList of the PSA processors in unet.attn_processors order (PSAlign: [p for p in attn_processors.values()
    # if isinstance(p, PSAAttnProcessor2_0)], i.e. every processor whose name does not end in attn1.processor).
    names = [n[: -len(".processor")] for n in unet.attn_processors.keys() if not n.endswith("attn1.processor")]
    modules = dict(unet.named_modules())
    procs = nn.ModuleList()
    layers = []
    for name in names:
        attn = modules[name]
        # PSAlign's hidden_size rule (init_psa_adapter): block_out_channels by block, reversed for up blocks
        block = name.split(".")
        bo = UNET_CONFIG["block_out_channels"]
        if block[0] == "mid_block":
            hidden = bo[-1]
        elif block[0] == "up_blocks":
            hidden = list(reversed(bo))[int(block[1])]
        else:
            hidden = bo[int(block[1])]
        assert hidden == attn.to_out[0].out_features, name
        p = PsaProcessorParams(hidden, CROSS)
        with torch.no_grad():
            for lin in (*p.to_k_user, *p.to_v_user):
                lin.weight.copy_(bf16_round(torch.randn(lin.weight.shape, generator=gen) * 0.4))
        procs.append(p)
        layers.append({"module": name, "hidden": hidden, "heads": attn.heads})
    user_proj = UserProj(CROSS, EMBED, USER_TOKENS)
    with torch.no_grad():
        for prm in user_proj.parameters():
            prm.copy_(bf16_round(torch.randn(prm.shape, generator=gen) * (0.3 if prm.ndim == 2 else 0.2) + (1.0 if prm is user_proj.norm.weight else 0.0)))
    state = {"psa_adapter": procs.state_dict(), "user_proj": user_proj.state_dict()}
    torch.save(state, os.path.join(stage, "psa_adapter.bin"))
    torch.save({k: {n: t.half() for n, t in v.items()} for k, v in state.items()}, os.path.join(stage, "psa_adapter.fp16.bin"))
    flat = {f"{k}.{n}": t for k, v in state.items() for n, t in v.items()}
    write_safetensors(os.path.join(stage, "psa_adapter.safetensors"), flat, {"format": "pt"})
    write_safetensors(os.path.join(stage, "psa_adapter.bf16.safetensors"), {k: t.to(torch.bfloat16) for k, t in flat.items()}, {"format": "pt"})
    # check: PSAlign's loading code path (ModuleList.load_state_dict, strict) accepts what we wrote
    back = torch.load(os.path.join(stage, "psa_adapter.bin"), map_location="cpu")
    nn.ModuleList([PsaProcessorParams(l["hidden"], CROSS) for l in layers]).load_state_dict(back["psa_adapter"])
    UserProj(CROSS, EMBED, USER_TOKENS).load_state_dict(back["user_proj"])

    # ---- bad inputs ----
    raw = open(os.path.join(stage, "psa_adapter.bin"), "rb").read()
    open(os.path.join(stage, "bad", "truncated.bin"), "wb").write(raw[: int(len(raw) * 0.6)])
    sdxl = nn.ModuleList([PsaProcessorParams(h, 32) for h in (24, 24, 48, 48, 48, 48, 48)])
    torch.save({"psa_adapter": sdxl.state_dict(), "user_proj": UserProj(32, EMBED, USER_TOKENS).state_dict()}, os.path.join(stage, "bad", "sdxl_shaped.bin"))
    # right cross width, wrong layer width at layer 2 / one processor too many (named layers in the errors)
    for name, widths in (("wrong_width.bin", (16, 16, 24, 24)), ("extra_layer.bin", (16, 16, 16, 24, 24))):
        ml = nn.ModuleList([PsaProcessorParams(h, CROSS) for h in widths])
        torch.save({"psa_adapter": ml.state_dict(), "user_proj": user_proj.state_dict()}, os.path.join(stage, "bad", name))

    # ---- reference outputs ----
    g = torch.Generator().manual_seed(7)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    timestep = torch.tensor([501], dtype=torch.int64)
    text = torch.randn(2, 77, CROSS, generator=g)
    embeds = torch.randn(2, EMBED, generator=g)
    embeds[1] = 0.0  # the CFG row: PSA projects a zero vector
    with torch.no_grad():
        user_tokens = user_proj(embeds)
        ehs = torch.cat([text, user_tokens], dim=1)
        plain = unet(sample, timestep, text, return_dict=False)[0]
        outs = {}
        for s in SCALES:
            unet.set_attn_processor({k: (AttnProcessor() if k.endswith("attn1.processor") else PsaReferenceProcessor(procs[names.index(k[: -len(".processor")])], USER_TOKENS, s)) for k in unet.attn_processors.keys()})
            outs[s] = unet(sample, timestep, ehs, return_dict=False)[0]
        unet.set_attn_processor(AttnProcessor())
    assert torch.allclose(outs[0.0], plain, atol=1e-6), "psa_scale 0 must equal the plain U-Net"
    assert (outs[1.0] - plain).abs().max() > 1e-2, "the user term must move the output"
    ref = {}
    for nm, t in [("sample", sample), ("encoder_hidden_states_text", text), ("user_embeds", embeds), ("user_tokens", user_tokens), ("plain", plain)] + [
            (f"psa_scale_{s}", outs[s]) for s in SCALES]:
        np.save(os.path.join(stage, "ref", f"{nm}.npy"), np.ascontiguousarray(t.numpy().astype(np.float32)))
        ref[nm] = f"ref/{nm}.npy"

    expected = {
        "sources": {"diffusers": dinfo, "torch": torch.__version__, "seed": SEED},
        "unet": {"config": UNET_CONFIG, "crossAttentionDim": CROSS},
        "psa": {
            "embeddingSize": EMBED,
            "userTokens": USER_TOKENS,
            "processorOrder": "unet.attn_processors order, attn2 only (diffusers registers down_blocks, up_blocks, then mid_block)",
            "layers": layers,
        },
        "reference": {"timestep": 501, "scales": list(SCALES), "files": ref, "outputs": {str(s): f"ref/psa_scale_{s}.npy" for s in SCALES}},
        "files": {},
    }
    for d, _, fs in sorted(os.walk(stage)):
        for f in sorted(fs):
            p = os.path.join(d, f)
            expected["files"][os.path.relpath(p, stage)] = {"bytes": os.path.getsize(p), "sha256": sha256(p)}
    with open(os.path.join(stage, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, default=str)
        f.write("\n")
    if os.path.isdir(out):
        shutil.rmtree(out)
    shutil.move(stage, out)
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({total / 1e6:.2f} MB); PSA layers in checkpoint order: {[l['module'] for l in layers]}")


if __name__ == "__main__":
    main()
