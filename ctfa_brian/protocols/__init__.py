"""Protocols: small, fully specified experiments run from a TOML file (``ctfa run FILE``).

Each protocol is a module here (`ctfa_brian.protocols.overlap`, ...) with ``NAME``,
``PARAMETERS`` and ``run``; `ctfa_brian.protocols.runner` reads and validates the file and
writes the results. See ``docs/protocols/README.md``.

Example
-------
>>> from ctfa_brian.protocols import run_protocol                    # doctest: +SKIP
>>> results = run_protocol("protocols/overlap.toml", "runs/overlap",
...                        overrides=["n_delays=13"])                # doctest: +SKIP
"""

from ctfa_brian.protocols.runner import (
    COMMON_PARAMETERS,
    KINDS,
    Parameter,
    ProtocolConfig,
    available_protocols,
    configure,
    format_parameters,
    get_protocol,
    load_protocol_file,
    parameters_to_jsonable,
    protocol_manifest,
    run_protocol,
)

__all__ = [
    "COMMON_PARAMETERS",
    "KINDS",
    "Parameter",
    "ProtocolConfig",
    "available_protocols",
    "configure",
    "format_parameters",
    "get_protocol",
    "load_protocol_file",
    "parameters_to_jsonable",
    "protocol_manifest",
    "run_protocol",
]
