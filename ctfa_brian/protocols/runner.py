"""Run a protocol described by a TOML file: read, validate, simulate, write everything.

A *protocol* is a module in `ctfa_brian.protocols` with

- ``NAME`` : str, the name used in the TOML file (``protocol = "overlap"``);
- ``PARAMETERS`` : dict of `Parameter`, the spec of every key it accepts;
- ``run(params, out_dir) -> dict`` : simulate, write figures, ``table.csv`` and traces into
  ``out_dir`` and return the results;
- optionally ``check(params) -> dict`` : cross-parameter checks and dependent defaults, called
  after every single value has been validated.

A *sweep protocol* (see `ctfa_brian.protocols._cells`) also has ``GRID``, its default axes
``{key: [values]}``; a file's ``[grid]`` table and the command line's ``--grid key=[...]``
replace axes or add new ones, each value validated like the parameter of the same name. Its
``run`` and ``check`` take the validated grid as a further argument.

Every protocol also takes the `COMMON_PARAMETERS` ``seed`` and ``device``; a protocol that can
run on other devices (e.g. cpp_standalone, compiled once per sweep) declares its own ``DEVICE``
`Parameter`, which replaces the common one. Runtime targets are selected by the runner; a
standalone device is selected by the protocol's own `ctfa_brian.training.Trainer`.

A protocol file looks like this (times are strings with a unit):

.. code-block:: toml

    protocol = "overlap"

    [parameters]
    sample_time = "100 ms"
    tau_pot_ratios = [10, 40, 100]

`load_protocol_file` reads it, applies ``key=value`` overrides (the command line's ``--set``)
and validates everything before anything is written; `run_protocol` then writes
``results.json``, ``manifest.json`` and what the protocol itself writes.
"""

import time
from pathlib import Path

from brian2 import prefs
from brian2.utils.logger import get_logger

from ctfa_brian.io import provenance
from ctfa_brian.packs import check_replicas_option
from ctfa_brian.protocols.config import (
    _FILE_KEYS,
    ProtocolConfig,
    _spec,
    configure,
    get_protocol,
    load_protocol_file,
)
from ctfa_brian.protocols.spec import parameters_to_jsonable
from ctfa_brian.sweep import parse_shard

__all__ = ["format_parameters", "protocol_manifest", "run_protocol"]

logger = get_logger(__name__)


def protocol_manifest(config, argv=None):
    """Describe a protocol run completely enough to repeat it.

    Returns
    -------
    dict
        ``protocol``, ``source`` (the file), ``overrides``, ``parameters`` (times as strings
        with their unit), ``seed``, ``device``, ``versions`` (ctfa_brian, brian2, numpy, neo,
        python), ``platform``, ``timestamp_utc`` and ``command_line``.
    """
    return {"protocol": config.name, "source": config.source,
            "overrides": list(config.overrides),
            "parameters": parameters_to_jsonable(config.parameters),
            "grid": parameters_to_jsonable(config.grid), "seed": int(config.parameters["seed"]),
            "device": config.parameters["device"], **provenance(argv)}


def run_protocol(path_or_params, out_dir, overrides=(), argv=None, neo_format="nix"):
    """Validate a protocol run, then simulate it and write everything into ``out_dir``.

    Parameters
    ----------
    path_or_params : str, Path, dict or ProtocolConfig
        A protocol file; or a dict ``{"protocol": NAME, "parameters": {...}}``; or an
        already validated `ProtocolConfig`.
    out_dir : str or Path
        Output directory, created only after everything has been validated.
    overrides : iterable of str
        ``"key=value"`` overrides (not allowed with a `ProtocolConfig`).
    argv : list of str, optional
        The command line for the manifest (default: ``sys.argv``).
    neo_format : {"nix", "nwb", "both"}
        The format of the Neo files the protocol writes (``traces.nix``, ``traces.nwb`` or
        both; see `ctfa_brian.nwb_io`); ``nwb`` and ``both`` need pynwb. Recorded in the
        manifest as ``format``. A sweep's cells keep their traces as NIX.

    Returns
    -------
    dict
        What the protocol returned, plus ``files`` (paths of everything written) and
        ``timings_s``; the same is in ``results.json``.

    Raises
    ------
    ValueError
        Invalid input (see `load_protocol_file`), an unknown ``neo_format`` or ``nwb`` without
        pynwb; nothing is written then.
    """
    from ctfa_brian import io
    from ctfa_brian.device import select
    from ctfa_brian.nwb_io import check_format, output_format

    check_format(neo_format, "neo_format")

    if isinstance(path_or_params, ProtocolConfig):
        if tuple(overrides):
            raise ValueError("overrides cannot be applied to a ProtocolConfig; pass the file "
                             "or the parameter dict instead")
        config = path_or_params
    elif isinstance(path_or_params, dict):
        data = dict(path_or_params)
        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown or "protocol" not in data:
            raise ValueError(f"expected {{'protocol': NAME, 'parameters': {{...}}}}, got keys "
                             f"{sorted(data)}")
        config = configure(data["protocol"], data.get("parameters", {}), overrides,
                           grid=data.get("grid"))
    else:
        config = load_protocol_file(path_or_params, overrides)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output directory {str(out)!r} exists and is not a directory")
    if config.parameters.get("shard"):
        parse_shard(config.parameters["shard"])  # before anything is written
    if "replicas" in config.parameters:
        check_replicas_option(config.parameters["replicas"])
    module = get_protocol(config.name)
    manifest = {**protocol_manifest(config, argv), "format": neo_format}
    previous_target = prefs.codegen.target
    if config.parameters["device"] in ("numpy", "cython", "runtime"):
        select(config.parameters["device"])
    out.mkdir(parents=True, exist_ok=True)
    if "retry_failed" in config.parameters:  # a sweep: one killed midway resumes from here
        io.write_json(out / "manifest.json", manifest)
    start = time.perf_counter()
    try:
        with output_format(neo_format):
            if hasattr(module, "GRID"):
                results = dict(module.run(dict(config.parameters), out, dict(config.grid)))
            else:
                results = dict(module.run(dict(config.parameters), out))
    finally:
        prefs.codegen.target = previous_target
    timings = dict(results.get("timings_s", {}))
    timings["total"] = time.perf_counter() - start
    results["timings_s"] = timings
    files = {key: str(path) for key, path in results.get("files", {}).items()}
    files.update({"results": str(out / "results.json"), "manifest": str(out / "manifest.json")})
    results["files"] = files
    io.write_results(out, results, manifest)
    logger.debug(f"protocol {config.name!r}: wrote {len(files)} files to {out}")
    return results


def format_parameters(name):
    """Return the parameter spec of protocol ``name`` as a Markdown table."""
    spec = _spec(get_protocol(name))
    lines = ["| key | kind | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, entry in spec.items():
        lines.append(f"| `{key}` | {entry.kind} | `{entry.describe_default()}` | "
                     f"{entry.describe_range()} | {entry.meaning} |")
    return "\n".join(lines)
