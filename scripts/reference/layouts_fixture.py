#!/usr/bin/python3
"""Build fixtures/layouts: the parity fixture's models re-saved in the external-data layouts public exports use.

    /usr/bin/python3 scripts/reference/layouts_fixture.py           # from the repo root; deterministic, < 5 s

Made with the reference tool itself: Debian's python3-onnx (onnx 1.12, `onnx.save_model(...,
save_as_external_data=True, location=...)` and `onnx.external_data_helper.set_external_data`), which is what
Optimum (`model.onnx_data`) and diffusers' convert_stable_diffusion_checkpoint_to_onnx.py (`weights.pb`) call to
write their exports. The source models are fixtures/parity/bundle (torch.onnx.export of diffusers' own
UNet2DConditionModel / AutoencoderKL, see parity_fixture.py); nothing is retrained, so the fp32 layouts compute
exactly what the parity fixture computes. Tensors under 1 KiB stay inline (onnx.save_model's default
size_threshold, which Optimum and diffusers keep): ORT needs small shape tensors inline to infer shapes at load.

Layouts (each folder holds only the model folders it changes; tests lay it over a copy of fixtures/parity/bundle,
which supplies tokenizer/, scheduler/, model_index.json and, where absent here, text_encoder/):
- named/       unet/model.onnx + `weights.pb` (diffusers' SD export name); vae_decoder/model.onnx +
               `vae-weights.bin` (a custom name); safety_checker/model.onnx (fixtures/safety-checker's) +
               `checker.weights` + preprocessor_config.json. One file per model.
- multi-file/  vae_decoder/model.onnx + one file per initializer (`<n>.weight`, 28 files), as
               `all_tensors_to_one_file=False` writes (named here by index, not by uuid, so the fixture is
               deterministic). The U-Net is left out to keep the fixture small (named/ covers it).
- fp16/        text_encoder, unet, vae_decoder converted to float16 as `optimum-cli export onnx --dtype fp16`
               leaves them: float16 graph inputs/outputs and initializers (Optimum traces a half-precision torch
               model on CUDA; torch 1.13 cannot trace half on the CPU, so the float32 export is converted here with
               onnx + numpy: initializers, Constant / ConstantOfShape values, Cast(to=float) and every float
               value type; Resize's scales stay float32 as ONNX requires). External data `model.onnx_data`
               (Optimum's name). For loading and for the shader-f16 refusal; its numbers are not parity-checked.
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.external_data_helper import set_external_data

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SRC = os.path.join(ROOT, "fixtures", "parity", "bundle")
OUT = os.path.join(ROOT, "fixtures", "layouts")


def load(folder):
    return onnx.load(os.path.join(SRC, folder, "model.onnx"))


def copy_config(folder, dest):
    shutil.copy(os.path.join(SRC, folder, "config.json"), os.path.join(dest, "config.json"))


def save_one_file(model, folder, dest_root, location):
    dest = os.path.join(dest_root, folder)
    os.makedirs(dest, exist_ok=True)
    onnx.save_model(model, os.path.join(dest, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=1024)
    copy_config(folder, dest)


def save_by_tensor(model, folder, dest_root, name_of):
    """Every initializer with data goes to the file name_of(i, tensor) says (appended there by onnx)."""
    dest = os.path.join(dest_root, folder)
    os.makedirs(dest, exist_ok=True)
    i = 0
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t)
        if arr.nbytes < 1024:
            continue  # stays inline, as onnx.save_model's default size_threshold (1024) keeps it
        if not t.HasField("raw_data"):
            t.CopyFrom(numpy_helper.from_array(arr, t.name))
        set_external_data(t, name_of(i, t))
        i += 1
    onnx.save_model(model, os.path.join(dest, "model.onnx"))
    copy_config(folder, dest)


def to_fp16(model):
    g = model.graph
    f16 = TensorProto.FLOAT16
    consumers = {}
    for n in g.node:
        for k, x in enumerate(n.input):
            consumers.setdefault(x, []).append((n, k))
    # Values ONNX requires in float32: Resize's roi (input 1) and scales (input 2).
    keep32 = {x for n in g.node if n.op_type == "Resize" for x in list(n.input)[1:3] if x}
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT and t.name not in keep32:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        if n.op_type in ("Constant", "ConstantOfShape"):
            if n.op_type == "Constant" and any(o in keep32 for o in n.output):
                continue
            for a in n.attribute:
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT and not any(o in keep32 for o in n.output):
                    a.i = f16
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT and v.name not in keep32:
            v.type.tensor_type.elem_type = f16
    onnx.checker.check_model(model)
    return model


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    named = os.path.join(OUT, "named")
    save_one_file(load("unet"), "unet", named, "weights.pb")
    save_one_file(load("vae_decoder"), "vae_decoder", named, "vae-weights.bin")
    # The safety checker fixture (safety_checker_fixture.py: diffusers' StableDiffusionSafetyChecker, forward_onnx)
    # as an Optimum export's safety_checker/ folder, its weights under another custom name.
    checker = os.path.join(named, "safety_checker")
    os.makedirs(checker)
    onnx.save_model(onnx.load(os.path.join(ROOT, "fixtures", "safety-checker", "model.onnx")), os.path.join(checker, "model.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True, location="checker.weights", size_threshold=1024)
    shutil.copy(os.path.join(ROOT, "fixtures", "safety-checker", "preprocessor_config.json"), checker)

    multi = os.path.join(OUT, "multi-file")
    save_by_tensor(load("vae_decoder"), "vae_decoder", multi, lambda i, t: f"{i}.weight")

    fp16 = os.path.join(OUT, "fp16")
    for folder in ("text_encoder", "unet", "vae_decoder"):
        save_one_file(to_fp16(load(folder)), folder, fp16, "model.onnx_data")

    with open(os.path.join(OUT, "made-by.txt"), "w") as f:
        f.write(f"scripts/reference/layouts_fixture.py with onnx {onnx.__version__}, numpy {np.__version__}, "
                "from fixtures/parity/bundle\n")
    for d, _, files in sorted(os.walk(OUT)):
        n = sum(os.path.getsize(os.path.join(d, x)) for x in files)
        print(f"{os.path.relpath(d, ROOT)}: {len(files)} files, {n} bytes")


if __name__ == "__main__":
    main()
