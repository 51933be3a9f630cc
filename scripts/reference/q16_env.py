"""Q16's own classifier code (github ml-research/Q16), imported from a git mirror, for the Q16 fixture scripts.

This module owns getting Q16's `main/clip_classifier/classify/utils.py` importable here without installing anything:
  * `git show <commit>:<path>` from the Q16 mirror (Q16_MIRROR, default /work/.mirror/ml-research+Q16/repo; get it
    with the search tool's `fetch github:ml-research/Q16`, or any clone whose history holds Q16_COMMIT);
  * a placeholder `clip` module: utils.py imports OpenAI's `clip` at module level for ClipWrapper / initialize_prompts,
    which load a hub model; the parts used here (SimClassifier, load_prompts) never touch it.
What is used from Q16, unchanged:
  * load_prompts(path, device)  -> torch.HalfTensor of the pickled prompt embeddings (as Q16's inference does);
  * SimClassifier(embeddings).forward(x) -> 100 * normalize(x) @ normalize(embeddings).T (the logits);
  * the decision of main/paper_experiments/experiments.py eval_model_: probs = logits.softmax(-1), then
    topk(probs.float(), 1); labels = ['non inappropriate', 'inappropriate'], so index 1 = inappropriate.
The one deviation: Q16 ran that arithmetic in float16 on a GPU; torch 1.13 has no float16 matmul on the CPU, so the
references here run SimClassifier in float32 on the float16 prompt values (converted exactly). Recorded in outputs.
"""
import os
import subprocess
import sys
import types

Q16_MIRROR = os.environ.get("Q16_MIRROR", "/work/.mirror/ml-research+Q16/repo")
Q16_COMMIT = os.environ.get("Q16_COMMIT", "33de788767bbe33cf77a5f6df931cd86c71f294f")
Q16_REPO = "https://github.com/ml-research/Q16"
# Q16 has no LICENSE file; its README states MIT (a "License: MIT" badge linking opensource.org/licenses/MIT).
Q16_LICENSE = "MIT (stated in the README of ml-research/Q16; the repository has no LICENSE file)"
LABELS = ["non inappropriate", "inappropriate"]  # experiments.py: labels[pred_label_idx]
SCALE = 100.0  # SimClassifier / ClipSimModel_Infer: similarity = 100.0 * image_norm @ text_norm.T


def git_show(path):
    if not os.path.isdir(Q16_MIRROR):
        raise SystemExit(f"Q16 git mirror not found at {Q16_MIRROR}: set Q16_MIRROR to a clone of {Q16_REPO}")
    return subprocess.check_output(["git", "-C", Q16_MIRROR, "show", f"{Q16_COMMIT}:{path}"])


def blob_sha(path):
    return subprocess.check_output(["git", "-C", Q16_MIRROR, "rev-parse", f"{Q16_COMMIT}:{path}"]).decode().strip()


def load_q16_utils():
    """Q16's main/clip_classifier/classify/utils.py as a module (with the placeholder `clip`)."""
    if "clip" not in sys.modules:
        sys.modules["clip"] = types.ModuleType("clip")  # placeholder: only ClipWrapper/initialize_prompts use it
    src = git_show("main/clip_classifier/classify/utils.py").decode()
    mod = types.ModuleType("q16_utils")
    mod.__file__ = f"{Q16_REPO}/blob/{Q16_COMMIT}/main/clip_classifier/classify/utils.py"
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    return mod


def q16_probs(utils, prompts_half, image_embeds):
    """Q16's probabilities [n, 2] for image embeddings [n, d] (float32 SimClassifier on the float16 prompts)."""
    import torch

    clf = utils.SimClassifier(prompts_half.float(), "cpu")
    with torch.no_grad():
        logits = clf(torch.as_tensor(image_embeds, dtype=torch.float32))
        if logits.dim() == 1:
            logits = logits[None]
        probs = logits.softmax(dim=-1)
        _, idx = torch.topk(probs.float(), 1)  # eval_model_'s decision
    return logits.double().numpy(), probs.double().numpy(), idx[:, 0].numpy()
