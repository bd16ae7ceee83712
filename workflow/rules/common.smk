# Shared helpers: which datasets exist, where their inputs come from, config slices for params.

FUEL_FILE = "resources/FuelConsumption.csv"
DATASETS = list(config["datasets"])
# The amortized dataset of datasets has many small regressions: it gets closed forms per group
# but no single-design diagnostics.
GROUPED = [n for n, s in config["datasets"].items() if s.get("kind") == "amortized"]
TABULAR = [n for n in DATASETS if n not in GROUPED]


wildcard_constraints:
    dataset="|".join(DATASETS),


def canonical(obj):
    """Dicts with keys sorted, recursively: key order in a config file is not a change."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def dataset_spec(wildcards):
    """The dataset's own config entry: changing it reruns this dataset's jobs only."""
    # The URL a file came from does not change its content.
    spec = config["datasets"][wildcards.dataset]
    return canonical({k: v for k, v in spec.items() if k != "url"})


def dataset_source(wildcards):
    spec = config["datasets"][wildcards.dataset]
    kind = spec.get("kind", "file")
    if kind == "fuel":
        return FUEL_FILE
    if kind == "file":
        return spec["path"]
    return []


def fuel_url(wildcards):
    urls = [s["url"] for s in config["datasets"].values() if s.get("kind") == "fuel"]
    if not urls:
        raise ValueError("no dataset of kind 'fuel' in config, so nothing names a URL for " + FUEL_FILE)
    return urls[0]
