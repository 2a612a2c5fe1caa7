#!/usr/bin/env python3
"""Strategy fixtures from the original PBT-NAS code (github.com/AwesomeLemon/PBT-NAS).

The original has no license, so none of it is in this repository: this script imports its
`search/algorithms/ea.py` (children, selection) and `search/algorithms/mutation.py` (SEARL's weight
mutation) from a local copy and records what they draw. Ray, the file system and the model
builders that `ea.py` reaches are replaced by stand-ins that record their arguments; the functions
under test run unchanged, on numpy's global generator as in the original.

The original's random draws cannot be aligned with pbtnas's (numpy's Mersenne Twister against
ChaCha8), so the fixture holds distributions of at least 10^4 draws each, for
crates/orchestrator/tests/original_strategies.rs to compare with its own by a chi-square test:
  - PBT-NAS mixing: the (parent, donor) pair, each gene's replacement, the number replaced;
  - no mixing (`mix_with_itself`): the parent;
  - SEARL-like mutation: the parent, the action (copy, weight mutation, architecture mutation),
    the mutated gene and its new option;
  - `classic_parameter_mutation` on a small state dict: how many tensors, which, how many of
    each tensor's elements change, and by how much.

Run: scripts/setup-torch.sh, then
  .venv/bin/python scripts/original_fixtures_strategies.py ORIGINAL_REPO_DIR
"""
import importlib.util
import json
import math
import pathlib
import subprocess
import sys
import types

import numpy as np
import torch

OUT = (pathlib.Path(__file__).resolve().parent.parent
       / "crates/orchestrator/tests/fixtures/original_strategies.json")
SEED = 31173
N = 12  # population (the paper's CIFAR-10 size): a top quarter of 3 parents, 3 children a step
ALPHABET = [2, 3, 7, 7, 3, 5, 2, 4]  # options per gene (every gene mutable, as in the paper's spaces)
CHILDREN = 12_000  # per strategy
WEIGHT_MUTATIONS = 10_000
# A state dict with every kind of entry the original's filter sees: matrices and 4-d kernels
# (candidates), a bias (1-d) and a 2-d tensor whose name contains "norm" (both skipped).
TENSORS = [("a.weight", (6, 5)), ("b.weight", (20, 3, 3, 3)), ("c.bias", (7,)),
           ("layer_norm.weight", (4, 4)), ("d.weight", (40, 8)), ("e.weight", (3, 2))]
RATIO_BINS = [-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]  # edges of log10(|new - old| / |old|)


class Recorder:
    """Stands in for a Ray remote function: `.remote(*args)` records the call."""

    def __init__(self):
        self.calls = []

    def remote(self, *args, **kwargs):
        self.calls.append(args)


def load_ea(repo):
    """Imports the original's ea.py with Ray and its heavy imports stubbed."""
    stub = types.ModuleType
    ray = stub("ray")
    ray.remote = lambda *a, **k: (lambda f: f) if not (len(a) == 1 and callable(a[0])) else a[0]
    ray.get = lambda x: x
    ray.put = lambda x: x
    rl_space = type("RlNormActSearchSpace", (), {})
    modules = {
        "ray": ray,
        "yaml": stub("yaml"),  # only the history files use it
        "utils": stub("utils"),
        "utils.general": stub("utils.general"),
        "search": stub("search"),
        "search.algorithms": stub("search.algorithms"),
        "search.algorithms.common_utils": stub("search.algorithms.common_utils"),
        "search.algorithms.mix": stub("search.algorithms.mix"),
        "search.algorithms.mutation": stub("search.algorithms.mutation"),
        "search_space": stub("search_space"),
    }
    for name in ("init_run", "delete_old_model_files", "evaluate_store_clean",
                 "store_population_and_best_weights", "train_population", "init_best_fitness_ever"):
        setattr(modules["search.algorithms.common_utils"], name, None)
    for name in ("copy_weights", "copy_weights_mutate", "genes_to_layer_names_gan",
                 "genes_to_layer_names_rl"):
        setattr(modules["search.algorithms.mix"], name, None)
    modules["search.algorithms.mutation"].mutate_weights = None
    modules["search_space"].RlNormActSearchSpace = rl_space
    modules["utils.general"].print_population = lambda *a, **k: None
    modules["utils.general"].rmtree_if_exists = lambda *a, **k: None
    modules["utils"].general = modules["utils.general"]
    saved = {k: sys.modules.get(k) for k in modules}
    sys.modules.update(modules)
    try:
        spec = importlib.util.spec_from_file_location("original_ea", repo / "search/algorithms/ea.py")
        ea = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ea)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    ea.print = lambda *a, **k: None  # create_children prints every child
    return ea


def load_mutation(repo):
    spec = importlib.util.spec_from_file_location("original_mutation",
                                                  repo / "search/algorithms/mutation.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def population(rng):
    """N members with distinct fitnesses in a scrambled order and random genomes."""
    fitness = rng.permutation(N).astype(float) * 0.5 - 2.0
    genes = [[int(rng.integers(k)) for k in ALPHABET] for _ in range(N)]
    return fitness.tolist(), genes


def children(ea, fitness, genes, mode):
    """Runs the original's create_children until CHILDREN children are made; their records."""
    n_children = N // 4
    records = []
    while len(records) < CHILDREN:
        pop = [dict(model_id=i, hyperparameters=np.array(genes[i]),
                    history={g: [i] for g in range(len(ALPHABET))}, fitnesses=[fitness[i]])
               for i in range(N)]
        ea.create_child_weights = Recorder()
        kids, info = ea.create_children(
            arch_ss=None, basic_folder="-", epoch=0, epoch_step=1, n_children=n_children,
            n_parents=N, parents_evaluated=pop, population=pop, replace_arch_percent=0.25,
            shrink_perturb=[0.4, 0.1], percent_parents_for_mixing=0.25,
            mix_with_itself=(mode == "no_mixing"), fun_create_perturb_source_from_hps=None,
            if_mutate=(mode == "searl"), alphabet_array=[np.arange(k) for k in ALPHABET],
            seed=SEED)
        calls = ea.create_child_weights.calls
        for k, child in enumerate(kids):
            i = info[child["model_id"]]
            rec = dict(parent=i["parent1"], donor=i["parent2"], replaced=list(i["ind_changed"]),
                       genes=[int(x) for x in child["hyperparameters"]])
            if mode == "searl":
                # The 12th argument of the SEARL branch's call: if_mutate_weights.
                rec["weight_mutation"] = bool(calls[k][11])
            records.append(rec)
    return records[:CHILDREN]


def histograms(mode, records):
    g = len(ALPHABET)
    if mode == "pbt_nas":
        pair = np.zeros((N, N), dtype=int)
        gene = np.zeros(g, dtype=int)
        how_many = np.zeros(g + 1, dtype=int)
        for r in records:
            pair[r["parent"], r["donor"]] += 1
            gene[r["replaced"]] += 1
            how_many[len(r["replaced"])] += 1
        return dict(pair=pair.reshape(-1).tolist(), gene=gene.tolist(), how_many=how_many.tolist())
    if mode == "no_mixing":
        parent = np.zeros(N, dtype=int)
        for r in records:
            assert r["parent"] == r["donor"]
            parent[r["parent"]] += 1
        return dict(parent=parent.tolist())
    parent = np.zeros(N, dtype=int)
    action = np.zeros(3, dtype=int)  # copy, weight mutation, architecture mutation
    gene = np.zeros(g, dtype=int)
    new_option = np.zeros((g, max(ALPHABET)), dtype=int)
    for r in records:
        parent[r["parent"]] += 1
        if r["replaced"]:
            action[2] += 1
            (j,) = r["replaced"]
            gene[j] += 1
            new_option[j, r["genes"][j]] += 1
        else:
            action[1 if r["weight_mutation"] else 0] += 1
    return dict(parent=parent.tolist(), action=action.tolist(), gene=gene.tolist(),
                new_option=new_option.reshape(-1).tolist())


def tensor_value(name, shape):
    """A closed-form value, the same in the Rust test: no zeros, magnitudes from 0.05 to 1."""
    n = int(np.prod(shape))
    phase = sum((i + 1) * ord(c) for i, c in enumerate(name)) % 97 * 0.1
    v = np.sin(0.7315 * np.arange(n, dtype=np.float64) + phase)
    v = np.sign(v) * (0.05 + 0.95 * np.abs(v))
    return v.astype(np.float32).reshape(shape)


def weight_mutations(mutation):
    """Runs classic_parameter_mutation WEIGHT_MUTATIONS times; np.random.choice is wrapped to
    record the tensors it draws (a tensor drawn with zero mutations is otherwise invisible)."""
    names = [n for n, _ in TENSORS]
    base = {n: torch.from_numpy(tensor_value(n, s)) for n, s in TENSORS}
    how_many = np.zeros(len(names) + 1, dtype=int)
    chosen = np.zeros(len(names), dtype=int)
    changed = {n: np.zeros(int(np.prod(s)) + 1, dtype=int) for n, s in TENSORS}
    ratio = np.zeros(len(RATIO_BINS) + 1, dtype=int)
    drawn = []
    real_choice = np.random.choice

    def choice(a, *args, **kwargs):
        out = real_choice(a, *args, **kwargs)
        if isinstance(a, list) and a and isinstance(a[0], str):
            drawn.append([str(x) for x in out])
        return out

    mutation.np.random.choice = choice
    try:
        for _ in range(WEIGHT_MUTATIONS):
            drawn.clear()
            state = {n: t.clone() for n, t in base.items()}
            mutation.classic_parameter_mutation(state)
            (keys,) = drawn
            how_many[len(keys)] += 1
            for k in keys:
                chosen[names.index(k)] += 1
            for n in names:
                old, new = base[n].numpy().astype(np.float64), state[n].numpy().astype(np.float64)
                diff = new != old
                changed[n][int(diff.sum())] += 1
                r = np.log10(np.abs(new[diff] - old[diff]) / np.abs(old[diff]))
                np.add.at(ratio, np.searchsorted(RATIO_BINS, r), 1)
    finally:
        mutation.np.random.choice = real_choice
    return dict(tensors=[dict(name=n, shape=list(s)) for n, s in TENSORS], ratio_bins=RATIO_BINS,
                how_many=how_many.tolist(), chosen=chosen.tolist(),
                changed={n: c.tolist() for n, c in changed.items()}, ratio=ratio.tolist())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    repo = pathlib.Path(sys.argv[1]).resolve()
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    if len(commit) != 40:
        sys.exit(f"{repo} is not a git checkout of the original: its commit goes into the fixture")
    ea, mutation = load_ea(repo), load_mutation(repo)
    fitness, genes = population(np.random.default_rng(SEED))
    np.random.seed(SEED)
    out = dict(source="scripts/original_fixtures_strategies.py", original_commit=commit,
               population=dict(fitness=fitness, genes=genes, alphabet=ALPHABET),
               parent_frac=0.25, survive_frac=0.75, mix_prob=0.25, children=CHILDREN)
    for mode in ("pbt_nas", "no_mixing", "searl"):
        out[mode] = histograms(mode, children(ea, fitness, genes, mode))
        print(f"{mode}: {CHILDREN} children", file=sys.stderr)
    torch.manual_seed(SEED)
    out["weight_mutation"] = dict(weight_mutations(mutation), draws=WEIGHT_MUTATIONS)
    print(f"weight mutation: {WEIGHT_MUTATIONS} draws", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
