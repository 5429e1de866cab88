"""Stop a run that blows up (NaN/inf) and say where, keeping what was recorded so far.

In standalone mode a ``run_regularly`` operation calls `nonfinite`, whose C++ implementation
sets Brian's ``Network::_globally_stopped`` flag (the same flag Ctrl-C sets), so the binary
stops at the end of the current step and still writes every monitor to disk. In runtime mode
the same check is a `NetworkOperation` that calls ``Network.stop()``. On cuda_standalone the
check runs on the GPU, which cannot set the host's flag: the run goes to its end and the
non-finite value, which stays non-finite, is reported from the final state.
"""

import numpy as np
from brian2 import NetworkOperation, check_units, implementation

__all__ = ["BlowUpError", "find_nonfinite", "nonfinite", "runtime_guard"]


class BlowUpError(RuntimeError):
    """A state variable became NaN or infinite; ``partial`` holds what finished before."""

    def __init__(self, message, variable, time, partial=None):
        super().__init__(message)
        self.variable = variable
        self.time = time
        self.partial = partial


@implementation(
    "cpp",
    """
    double nonfinite(double x)
    {
        if (std::isfinite(x))
            return 0.0;
        Network::_globally_stopped = true;
        return 1.0;
    }
    """,
    headers=['"network.h"'],
)
@implementation("cuda", """
__host__ __device__ inline double nonfinite(double x)
{
    return isfinite(x) ? 0.0 : 1.0;
}
""")
@implementation("cython", """
cdef double nonfinite(double x):
    return 0.0 if x == x and x - x == 0 else 1.0
""")
@check_units(x=1, result=1)
def nonfinite(x):
    """1 where ``x`` is NaN or infinite, else 0 (in C++ it also stops the network)."""
    return (~np.isfinite(x)).astype(float)


def find_nonfinite(groups_and_vars):
    """Return ``(group_name, variable)`` of the first non-finite state, or ``None``.

    ``groups_and_vars``: ``[(group, variable names)]``, or ``[(name, {variable: values})]``
    (one replica's values, `ctfa_brian.network.rate.CTFANetwork.guarded_of`).
    """
    for group, variables in groups_and_vars:
        for var in variables:
            if isinstance(variables, dict):
                values = np.asarray(variables[var])
            else:
                values = np.asarray(getattr(group, var)[:])
            if not np.all(np.isfinite(values)):
                return (group if isinstance(group, str) else group.name), var
    return None


def runtime_guard(network, groups_and_vars, dt):
    """A `NetworkOperation` that stops ``network`` once any listed variable is non-finite."""

    def check():
        if find_nonfinite(groups_and_vars) is not None:
            network.stop()

    return NetworkOperation(check, dt=dt, when="end", name="blowup_guard")
