"""Protocols: small, fully specified experiments run from a TOML file (``ctfa run FILE``).

Each protocol is a module here (`ctfa_brian.protocols.overlap`, ...) with ``NAME``,
``PARAMETERS`` and ``run``, listed in the registry `ctfa_brian.protocols.config.PROTOCOLS`;
`ctfa_brian.protocols.config` reads and validates a file, `ctfa_brian.protocols.runner` runs
it and writes the results. The laws are in `ctfa_brian.protocols.laws` (NumPy only). See
``docs/protocols/README.md``.

Example
-------
>>> from ctfa_brian.protocols import run_protocol                    # doctest: +SKIP
>>> results = run_protocol("protocols/overlap.toml", "runs/overlap",
...                        overrides=["n_delays=13"])                # doctest: +SKIP
"""

from ctfa_brian.protocols.config import (
    ProtocolConfig,
    available_protocols,
    configure,
    get_protocol,
    load_protocol_file,
)
from ctfa_brian.protocols.runner import format_parameters, protocol_manifest, run_protocol
from ctfa_brian.protocols.spec import COMMON_PARAMETERS, KINDS, Parameter, parameters_to_jsonable

__all__ = ["COMMON_PARAMETERS", "KINDS", "Parameter", "ProtocolConfig", "available_protocols",
           "configure", "format_parameters", "get_protocol", "load_protocol_file",
           "parameters_to_jsonable", "protocol_manifest", "run_protocol"]
