"""The gatherers, one module per topic; each records its facts through an `evidence.FactLog`."""
