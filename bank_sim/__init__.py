"""The simulated bank: a stand-in for a core-banking system that delivers CSV landing files and an HTTP API.

`bank_sim.generator` writes the landing files described in docs/source_contract.md; `bank_sim.api` serves the
survey and FX-rate API from the generator's backing data.
"""
