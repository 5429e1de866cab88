"""The laws the protocols compare their simulations with: NumPy and SciPy only.

Nothing here builds Brian2 objects (a test checks the imports), so a law can be read, plotted
and fitted without a simulator: `overlap` (the paper's eq. 1, 4, 5 and their filtered and
gated forms), `window` (the eligibility window of a burst pairing and the τ_elig fit), `theta`
(the theta-cycle law of the frequency-transition protocol).
"""
