"""Sweep the label delay Δ on one compiled network: learning needs input and error to overlap.

Paper §4: the informative update is proportional to the overlap (T − |Δ|)+; learning fails once
|Δ| ≳ T. The cpp_standalone project is compiled once; each Δ is a new run of the same binary.
"""

from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset

# --- parameters -------------------------------------------------------------------------
T = 100 * ms
DELAYS = (0 * ms, 50 * ms, 100 * ms)
N_TRAIN, N_TEST = 400, 200

dataset = load_dataset("digits").subset(N_TRAIN, N_TEST)
model = ModelParameters(hidden=(20,), rule="dfa", tau_pot_w=4 * second, tau_pot_v=4 * second)
trainer = Trainer(dataset, model, Schedule(sample_time=T), Training(epochs=2),
                  device="cpp_standalone")
trainer.build()
print(f"compiled in {trainer.build_time:.1f} s")
for delay in DELAYS:
    result = trainer.run(delay=delay)
    print(f"delay {delay / T:+.2f} T: test accuracy {result.test_accuracy:.3f} "
          f"(run {result.timings['run']:.2f} s)")
