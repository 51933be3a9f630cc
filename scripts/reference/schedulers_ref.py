#!/usr/bin/env python3
"""Write fixtures/schedulers/<name>.json by running diffusers' OWN scheduler code (not re-derived formulas).

Run with Debian's python (torch 1.13 + numpy):  /usr/bin/python3 scripts/reference/schedulers_ref.py

For every scheduler we mimic how a user swaps schedulers on SD1.5:
    base = PNDMScheduler.from_config(SD15_SCHEDULER_CONFIG)  # what pipe.scheduler is
    sched = TargetClass.from_config(base.config, **extra)    # extra only for the sampler identity (karras, ...)
and then run the StableDiffusionPipeline denoising loop on a tiny latent [1,4,2,2]:
    latents = init_noise * sched.init_noise_sigma
    for i, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(latents, t)
        eps  = model(x_in, t)                       # fixed function, identical in the TS tests
        latents = sched.step(eps, t, latents, ...).prev_sample
Stochastic steps get their standard-normal draw from arrays stored in the fixture: DDIM through its
`variance_noise` argument, Euler-ancestral and LCM by replacing `randn_tensor` in their modules (which
also records whether diffusers drew noise at that step).
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffusers_env import SD15_SCHEDULER_CONFIG, load_schedulers  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "fixtures", "schedulers")

SHAPE = (1, 4, 2, 2)
N = int(np.prod(SHAPE))

# The fake "UNet": eps[i] = float32(0.5 * x_in[i] + sin(0.01 * t + i)), evaluated in float64.
MODEL_FN_DOC = "eps[i] = float32(0.5 * x_in[i] + sin(0.01 * t + i)) in float64; x_in = scale_model_input(latents, t)"


def model(x_in, t):
    x = x_in.detach().to(torch.float64).reshape(-1).numpy()
    tt = float(t)
    eps = 0.5 * x + np.sin(0.01 * tt + np.arange(N, dtype=np.float64))
    return torch.from_numpy(eps.astype(np.float32)).reshape(SHAPE)


def f32list(a):
    """float32 values written with 9 significant digits (enough to round-trip float32 exactly)."""
    arr = np.asarray(a, dtype=np.float32).reshape(-1)
    return [float("%.9g" % v) for v in arr]


# name -> (diffusers class, identity kwargs applied on top of the SD1.5 config)
SCHEDULERS = {
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler-ancestral": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp-2m": ("DPMSolverMultistepScheduler", {"solver_order": 2, "algorithm_type": "dpmsolver++"}),
    "dpmpp-2m-karras": (
        "DPMSolverMultistepScheduler",
        {"solver_order": 2, "algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    "lcm": ("LCMScheduler", {}),
}

# Rollout cases: (id, steps, extra config overrides, eta)
CASES = {
    "ddim": [(f"sd15-{n}", n, {}, 0.0) for n in (1, 4, 10, 25, 50)]
    + [(f"sd15-eta1-{n}", n, {}, 1.0) for n in (1, 4, 10, 25)]
    + [("vpred-10", 10, {"prediction_type": "v_prediction"}, 0.0), ("trailing-eta0.5-7", 7, {"timestep_spacing": "trailing"}, 0.5)],
    "pndm": [(f"sd15-{n}", n, {}, None) for n in (1, 2, 3, 4, 5, 10, 25, 50)]
    + [("vpred-10", 10, {"prediction_type": "v_prediction"}, None)],
    "euler": [(f"sd15-{n}", n, {}, None) for n in (1, 4, 10, 25, 50)]
    + [
        ("vpred-10", 10, {"prediction_type": "v_prediction"}, None),
        ("leading-10", 10, {"timestep_spacing": "leading"}, None),
        ("sigmamin-10", 10, {"final_sigmas_type": "sigma_min"}, None),
    ],
    "euler-ancestral": [(f"sd15-{n}", n, {}, None) for n in (1, 4, 10, 25)]
    + [("vpred-10", 10, {"prediction_type": "v_prediction"}, None), ("leading-10", 10, {"timestep_spacing": "leading"}, None)],
    "dpmpp-2m": [(f"sd15-{n}", n, {}, None) for n in (1, 2, 4, 10, 14, 15, 25, 50)]
    + [
        ("vpred-10", 10, {"prediction_type": "v_prediction"}, None),
        ("heun-10", 10, {"solver_type": "heun"}, None),
        ("sigmamin-20", 20, {"final_sigmas_type": "sigma_min"}, None),
        ("no-lof-10", 10, {"lower_order_final": False}, None),
        ("eulerfinal-20", 20, {"euler_at_final": True}, None),
    ],
    "dpmpp-2m-karras": [(f"sd15-{n}", n, {}, None) for n in (1, 2, 4, 10, 15, 25, 50)]
    + [("vpred-10", 10, {"prediction_type": "v_prediction"}, None)],
    "lcm": [(f"sd15-{n}", n, {}, None) for n in (1, 2, 4, 8, 10, 25)]
    + [("vpred-4", 4, {"prediction_type": "v_prediction"}, None)],
}

SPACING_STEPS = (1, 2, 3, 7, 10, 20, 25, 30, 50, 100)


class NoiseFeed:
    """Replacement for randn_tensor inside one scheduler module: pops the stored draw for this step."""

    def __init__(self):
        self.pending = None
        self.used = False

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        if self.pending is None:
            raise RuntimeError("scheduler drew noise but the fixture script supplied none")
        self.used = True
        return self.pending.reshape(shape).to(dtype or torch.float32)


def to_jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    return v


def resolved_config(sched):
    return {k: to_jsonable(v) for k, v in dict(sched.config).items() if not k.startswith("_")}


def timesteps_list(sched):
    ts = sched.timesteps
    if ts.dtype.is_floating_point:
        return f32list(ts.numpy())
    return [int(x) for x in ts.tolist()]


def run_case(cls, module, base_config, identity, overrides, steps, eta, init_noise, rng):
    sched = cls.from_config(base_config, **identity, **overrides)
    sched.set_timesteps(steps)
    feed = NoiseFeed()
    module.randn_tensor = feed
    init_sigma = sched.init_noise_sigma
    latents = torch.from_numpy(init_noise.copy()).reshape(SHAPE) * init_sigma
    samples, noises, noise_used, input_scales = [], [], [], []
    probe = torch.ones(SHAPE, dtype=torch.float32)
    for t in sched.timesteps:
        x_in = sched.scale_model_input(latents, t)
        # scale_model_input is a pure multiply; measure the factor on a ones tensor (step index already set).
        input_scales.append(float(sched.scale_model_input(probe, t).reshape(-1)[0]))
        eps = model(x_in, t)
        draw = torch.from_numpy(rng.standard_normal(N).astype(np.float32)).reshape(SHAPE)
        feed.pending, feed.used = draw, False
        if eta is not None:
            out = sched.step(eps, t, latents, eta=eta, variance_noise=draw if eta > 0 else None)
            used = eta > 0
        else:
            out = sched.step(eps, t, latents)
            used = feed.used
        latents = out.prev_sample
        noise_used.append(bool(used))
        noises.append(f32list(draw.numpy()) if used else None)
        samples.append(f32list(latents.numpy()))
    case = {
        "config": overrides,
        "steps": steps,
        "resolvedConfig": resolved_config(sched),
        "timesteps": timesteps_list(sched),
        "initNoiseSigma": float(init_sigma),
        "inputScales": input_scales,
        "noiseUsed": noise_used,
        "samples": samples,
    }
    if eta is not None:
        case["eta"] = eta
    if any(noise_used):
        case["noise"] = noises
    return case


def spacing_table(cls, base_config, identity):
    table = []
    for spacing in ("linspace", "leading", "trailing"):
        for n in SPACING_STEPS:
            sched = cls.from_config(base_config, **identity, timestep_spacing=spacing)
            sched.set_timesteps(n)
            entry = {"timestep_spacing": spacing, "steps": n, "timesteps": timesteps_list(sched)}
            if hasattr(sched, "sigmas") and cls.__name__ != "LCMScheduler":
                entry["sigmas"] = f32list(sched.sigmas.numpy())
            table.append(entry)
    return table


def main():
    classes, modules, provenance = load_schedulers()
    base = classes["PNDMScheduler"].from_config(SD15_SCHEDULER_CONFIG)  # == pipe.scheduler of SD1.5
    base_config = base.config
    os.makedirs(OUT_DIR, exist_ok=True)

    init_noise = np.random.RandomState(20240601).standard_normal(N).astype(np.float32)
    total = 0
    for name, (cls_name, identity) in SCHEDULERS.items():
        cls, module = classes[cls_name], modules[cls_name]
        rng = np.random.RandomState(1000 + list(SCHEDULERS).index(name))  # fixed per scheduler
        cases = {}
        for case_id, steps, overrides, eta in CASES[name]:
            cases[case_id] = run_case(cls, module, base_config, identity, overrides, steps, eta, init_noise, rng)
        doc = {
            "scheduler": name,
            "diffusersClass": cls_name,
            "identityConfig": identity,
            "generatedBy": "scripts/reference/schedulers_ref.py",
            "diffusers": provenance,
            "baseConfig": SD15_SCHEDULER_CONFIG,
            "shape": list(SHAPE),
            "modelFn": MODEL_FN_DOC,
            "initNoise": f32list(init_noise),
            "cases": cases,
        }
        if name != "lcm":
            doc["spacing"] = spacing_table(cls, base_config, identity)
        path = os.path.join(OUT_DIR, f"{name}.json")
        text = json.dumps(doc, separators=(",", ":"))
        with open(path, "w") as fh:
            fh.write(text + "\n")
        total += len(text)
        print(f"wrote {os.path.relpath(path, ROOT)} ({len(text)} bytes, {len(cases)} cases)")

    # The shared train schedule, to check the TS float32 emulation of torch's linspace/cumprod bit for bit.
    ddim = classes["DDIMScheduler"].from_config(base_config)
    sched_doc = {
        "generatedBy": "scripts/reference/schedulers_ref.py",
        "diffusers": provenance,
        "baseConfig": SD15_SCHEDULER_CONFIG,
        "betas": f32list(ddim.betas.numpy()),
        "alphasCumprod": f32list(ddim.alphas_cumprod.numpy()),
    }
    text = json.dumps(sched_doc, separators=(",", ":"))
    with open(os.path.join(OUT_DIR, "_train_schedule.json"), "w") as fh:
        fh.write(text + "\n")
    total += len(text)
    print(f"total {total} bytes; diffusers {provenance['version']} @ {provenance['commit'][:12]}")


if __name__ == "__main__":
    main()
