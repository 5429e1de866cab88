"""The circuits of the frequency-transition protocol as Brian2 `Equations`: the presynaptic
rate neuron, the temporal-difference source (rate and spiking) and the synapses it drives.

The package's own model equations are in `ctfa_brian.equations`; these belong to one protocol.
"""

from brian2 import Equations

__all__ = ["PRE_RATE", "RATE_SYNAPSE", "SPIKE_ON_PRE", "SPIKE_SYNAPSE", "TD_SOURCE",
           "TD_SOURCE_SPIKING", "TD_SPIKING_RESET", "TD_SPIKING_THRESHOLD"]

#: Presynaptic rate neuron (``mode = "rates"``): x = f(t)/f_ref from a (time × synapse)
#: TimedArray ``rate_table`` that switches every phase.
PRE_RATE = Equations("""
x = rate_table(t, i)/f_ref : 1
""")

#: Postsynaptic cell with its temporal-difference error source. ``x_in`` is the summed rate
#: drive (rates mode; 0 in Poisson mode, where spikes add to z directly). ``g`` is the theta
#: gate: 1 for ``gate_steps`` steps from step ``gate_start`` of every ``cycle_steps``-step cycle
#: (modulo the cycle, so a late gate wraps into the next minus phase; whole steps, so the gate
#: edges are exact; per cell, so one network holds several gate positions; the default gate
#: starts at ``cycle_steps − gate_steps``, the last steps of the cycle). ``plus`` marks the plus
#: phase (for the traces only).
TD_SOURCE = Equations("""
dz/dt = (x_in - z)/tau_prop : 1
dz_fast/dt = (z - z_fast)/tau_fast : 1
dz_slow/dt = (z - z_slow)/tau_slow : 1
m = z_fast - z_slow : 1
g = 1.0*int((timestep(t, dt) + cycle_steps - gate_start) % cycle_steps < gate_steps) : 1
plus = 1.0*int(timestep(t, dt) % cycle_steps >= phase_steps) : 1
x_in : 1
gate_start : integer (constant)
""")

#: Spiking postsynaptic cell (``mode = "spiking"``): z (the trace of the presynaptic spikes, as
#: in Poisson mode) is the cell's drive; it fires Poisson spikes at f_ref·z, and each of its
#: spikes adds 1/(f_ref τ) to the fast and the slow trace, so E[z_fast], E[z_slow] follow the
#: rate equations of `TD_SOURCE`. m = z_fast − z_slow is now made of the cell's own spikes.
TD_SOURCE_SPIKING = Equations("""
dz/dt = (x_in - z)/tau_prop : 1
dz_fast/dt = -z_fast/tau_fast : 1
dz_slow/dt = -z_slow/tau_slow : 1
m = z_fast - z_slow : 1
g = 1.0*int((timestep(t, dt) + cycle_steps - gate_start) % cycle_steps < gate_steps) : 1
plus = 1.0*int(timestep(t, dt) % cycle_steps >= phase_steps) : 1
x_in : 1
gate_start : integer (constant)
""")
#: Threshold and reset of the spiking postsynaptic cell. Its thresholder runs before the state
#: update and its reset before the synapses (`simulate`): E[spikes] = f_ref z dt with the z
#: the Euler step of `TD_SOURCE` uses, in the traces when the synapse reads m.
TD_SPIKING_THRESHOLD = "rand() < f_ref*clip(z, 0, inf)*dt"
TD_SPIKING_RESET = "z_fast += 1/(f_ref*tau_fast)\nz_slow += 1/(f_ref*tau_slow)"

#: Rate synapse: the gated rule W and, for comparison, the time-invariant rule (g ≡ 1).
RATE_SYNAPSE = Equations("""
dw/dt = g_post*x_pre*m_post/tau_pot : 1 (clock-driven)
dw_invariant/dt = x_pre*m_post/tau_pot : 1 (clock-driven)
x_in_post = x_pre : 1 (summed)
""")

#: Spike synapse (``mode = "poisson"``): W changes at each presynaptic spike (a Dirac pulse of
#: area 1/f_ref in x), with m read before the spike reaches z (`SPIKE_ON_PRE`).
SPIKE_SYNAPSE = Equations("""
w : 1
w_invariant : 1
""")

#: On each presynaptic spike: consolidate with the current m, then add the spike to z.
SPIKE_ON_PRE = """
w += g_post*m_post/(f_ref*tau_pot)
w_invariant += m_post/(f_ref*tau_pot)
z_post += 1/(f_ref*tau_prop)
"""
