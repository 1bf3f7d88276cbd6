"""The safety overview: confirmed ADEs by drug and by reaction, over time, and the within-hospital
disproportionality table with its plots (selectors aggregate in the database; charts are matplotlib PNGs)."""
