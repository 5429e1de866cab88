"""The spiking variant on the circles: LIF neurons, signed error spikes, elephant rates.

The same Kolen–Pollack network as ``train_circles.py`` (24 hidden units, layerwise routing),
with ``variant="spiking"``: leaky integrate-and-fire neurons whose spike traces stand in for
the rates (200 Hz is the value 1), errors as paired positive/negative spike trains, and
event-driven plasticity. The hidden layer's spikes go to Neo; elephant gives their rates and
regularity. Writes ``spiking_raster.png``.
"""

import quantities as pq
from brian2 import ms, second
from matplotlib.figure import Figure

from ctfa_brian import ModelParameters, Recording, Schedule, Trainer, Training, load_dataset
from ctfa_brian.neo_io import recordings_to_neo
from ctfa_brian.plotting import plot_raster
from ctfa_brian.spike_analysis import isi_statistics, mean_rates, select

# --- parameters -------------------------------------------------------------------------
HIDDEN = (24,)
SAMPLE_TIME = 100 * ms
TAU_POT = 4 * second
EPOCHS = 6
DT = 0.5 * ms  # max_rate · dt ≤ 0.1

model = ModelParameters(hidden=HIDDEN, rule="kp", variant="spiking", neuron="lif",
                        tau_pot_w=TAU_POT, tau_pot_v=TAU_POT)
recording = Recording(spikes={"layer1": "all"})
trainer = Trainer(load_dataset("circles"), model, Schedule(sample_time=SAMPLE_TIME, dt=DT),
                  Training(epochs=EPOCHS), device="cpp_standalone", recording=recording)
result = trainer.run()
print("test accuracy by epoch:", [round(p["test_accuracy"], 3) for p in result.learning_curve])

# --- the hidden layer's spikes as Neo, analysed with elephant -----------------------------
segment = recordings_to_neo(result, model).segments[0]
hidden = select(segment, group="layer1", event="spike")
last = (float(result.duration / second) - 10) * pq.s  # the last 10 s: the frozen evaluation
rates = mean_rates([st.time_slice(last, None) for st in hidden])
stats = isi_statistics([st.time_slice(last, None) for st in hidden])
print(f"hidden layer mean rate (Hz): {rates.mean().magnitude:.1f}")
cv = stats["cv"][stats["cv"] == stats["cv"]]  # without the NaN of near-silent units
print(f"hidden layer mean ISI CV (over sample switches): {float(cv.mean()):.2f}")

fig = Figure(figsize=(8, 3), layout="constrained")
plot_raster(hidden, ax=fig.subplots(), t_start=last, t_stop=last + 2 * pq.s)
fig.savefig("spiking_raster.png", dpi=100)
print("wrote spiking_raster.png")
